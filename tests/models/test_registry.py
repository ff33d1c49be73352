import dataclasses

import keras
import pytest

import zoo


def test_the_four_families_are_registered_with_every_task():
    assert {"gru", "lstm", "simple_rnn", "transformer"} <= set(zoo.list_models())
    assert zoo.list_models("*rnn*") == ["simple_rnn"]
    for name in ("gru", "lstm", "simple_rnn", "transformer"):
        assert set(zoo.list_tasks(name)) == {"seq2seq", "lm", "mlm", "classify", "regress"}
        assert set(zoo.list_presets(name)) == {"tiny", "small", "base", "big"}


def test_canonical_transformer_is_the_papers_base_seq2seq():
    config = zoo.get_config("transformer")
    assert (config.task, config.hidden_dim, config.num_heads) == ("seq2seq", 512, 8)
    assert (config.intermediate_dim, config.num_layers, config.decoder_layers) == (2048, 6, 6)
    assert config.dropout == 0.1
    big = zoo.get_config("transformer", preset="big")
    assert (big.hidden_dim, big.num_heads, big.intermediate_dim, big.dropout) == (
        1024,
        16,
        4096,
        0.3,
    )


def test_base_transformer_has_the_papers_65_million_parameters():
    model = zoo.build("transformer", preset="base", vocab_size=37000, share_embeddings=True)
    # Hand count: shared 37000 x 512 embedding, 6 encoder layers of 3,152,384 weights and 6
    # decoder layers of 4,204,032: 63,082,496, the paper's "65M" to within 3%.
    assert model.count_params() == 37000 * 512 + 6 * 3_152_384 + 6 * 4_204_032
    assert abs(model.count_params() - 65e6) / 65e6 < 0.03


def test_overrides_win_over_presets():
    config = zoo.get_config("lstm", task="classify", preset="small", num_layers=3)
    assert (config.task, config.num_layers, config.hidden_dim) == ("classify", 3, 256)


@pytest.mark.parametrize(
    "kwargs, fragments",
    [
        (dict(name="transfomer"), ["Unknown model", "transformer", "Did you mean 'transformer'"]),
        (dict(name="lstm", task="lmm"), ["Unknown task", "seq2seq", "Did you mean 'lm'"]),
        (dict(name="lstm", preset="smal"), ["Unknown preset", "tiny", "Did you mean 'small'"]),
        (
            dict(name="transformer", num_head=4),
            ["Unknown config field", "num_heads", "Did you mean 'num_heads'"],
        ),
    ],
)
def test_unknown_names_list_the_valid_choices_and_the_closest(kwargs, fragments):
    with pytest.raises(ValueError) as error:
        zoo.build(**{"preset": "tiny", **kwargs} if "preset" not in kwargs else kwargs)
    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize(
    "name, kwargs, fragment",
    [
        ("transformer", dict(hidden_dim=30, num_heads=4), "must divide hidden_dim .* num_heads=3"),
        ("lstm", dict(num_heads=5), r"must divide hidden_dim \(32\) \(the attention over enc"),
        ("lstm", dict(task="mlm", bidirectional=False), "unidirectional RNN only sees the left"),
        ("simple_rnn", dict(task="lm", bidirectional=True), "cannot read the future"),
        ("transformer", dict(dropout=1.5), "dropout must be in"),
        ("transformer", dict(dropout=float("nan")), "dropout must be in"),
        ("transformer", dict(hidden_dim="256"), "hidden_dim must be a positive integer, rec"),
        ("lstm", dict(num_layers=2.0), "num_layers must be a positive integer, received 2.0"),
        ("transformer", dict(vocab_size=0), "vocab_size must be a positive integer"),
        ("transformer", dict(vocab_size=4), "vocab_size must be at least 5 .ids 0-3 are"),
        ("lstm", dict(task="lm", vocab_size=1), "vocab_size must be at least 5"),
        ("simple_rnn", dict(target_vocab_size=3), "target_vocab_size must be at least 5"),
        ("lstm", dict(share_embeddings=True, target_vocab_size=99), "one shared vocabulary"),
        ("transformer", dict(position_encoding="rope"), "'sinusoidal' or 'learned'"),
        ("simple_rnn", dict(forget_bias=3.0), "A simple_rnn has no gates"),
        ("simple_rnn", dict(chrono_init=64), "A simple_rnn has no gates"),
        ("lstm", dict(chrono_init=2), "chrono_init is the longest memory"),
        ("gru", dict(chrono_init=10.0), "an int of at least 3"),
        ("lstm", dict(forget_bias=float("nan")), "forget_bias must be a number between"),
        ("gru", dict(task="lm", bidirectional_encoder=True), "has no encoder"),
        ("lstm", dict(recurrent_initializer="orthogonall"), "not a Keras initializer name"),
        ("gru", dict(embedding_stddev=0.0), "embedding_stddev must be a positive number"),
    ],
)
def test_combinations_that_cannot_work_say_why(name, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        zoo.build(name, preset="tiny", **kwargs)


@dataclasses.dataclass(frozen=True)
class BagConfig:
    task: str = "classify"
    vocab_size: int = 20
    num_classes: int = 3


def test_register_a_users_family_and_reject_duplicates():
    @zoo.register(
        "bag_of_words",
        config_class=BagConfig,
        tasks=("classify",),
        presets={"tiny": {}},
        default_task="classify",
        default_preset="tiny",
    )
    def build_bag(config):
        ids = keras.Input((None,), dtype="int32")
        pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(ids))
        return keras.Model(ids, keras.layers.Dense(config.num_classes)(pooled))

    try:
        assert "bag_of_words" in zoo.list_models()
        assert zoo.build("bag_of_words", num_classes=5).output_shape == (None, 5)
        with pytest.raises(ValueError, match="already registered"):
            zoo.register(
                "bag_of_words",
                config_class=BagConfig,
                tasks=("classify",),
                presets={"tiny": {}},
                default_task="classify",
                default_preset="tiny",
            )(build_bag)
        with pytest.raises(ValueError, match="Unknown task"):
            zoo.register(
                "other",
                config_class=BagConfig,
                tasks=("translate",),
                presets={"tiny": {}},
                default_task="translate",
                default_preset="tiny",
            )
    finally:
        zoo.unregister("bag_of_words")
    assert "bag_of_words" not in zoo.list_models()


def test_tunings_are_named_listable_changes_on_a_size():
    assert set(zoo.list_tunings("transformer")) >= {"translate", "translate_demo", "char_lm"}
    tuned = zoo.get_config("lstm", preset="small", tuning="translate")
    small = zoo.get_config("lstm", preset="small")
    assert (tuned.residual, tuned.bidirectional_encoder, tuned.embedding_stddev) == (
        True,
        True,
        1.0,
    )
    assert (tuned.hidden_dim, tuned.num_layers) == (small.hidden_dim, small.num_layers)
    # A keyword still wins over the tuning.
    untied = zoo.get_config("lstm", preset="tiny", tuning="translate", residual=False)
    assert untied.residual is False
    demo = zoo.build("transformer", preset="small", tuning="translate_demo", vocab_size=50)
    config = demo.config
    assert (config.num_layers, config.hidden_dim, config.norm_first) == (2, 128, True)
    with pytest.raises(ValueError, match=r"Unknown tuning 'translation'.*Did you mean 'translate'"):
        zoo.build("gru", tuning="translation")
