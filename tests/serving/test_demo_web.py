"""`zoo demo-web` in a real headless browser: Debian's chromium driven by selenium.

The demo serves the tiny translation export, with the run folder of its model (the
checkpoint and tokenizer) for the attention heatmap. The test types "the ball is red",
reads the translation back from the page — it must be what the export's `translate`
signature answers here, with TensorFlow — and sees the heatmap image. Skipped, with the
reason, where chromium or chromium-driver is not installed (`.ci/run` installs them).
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)
pytest.importorskip("gradio", reason="the demo needs the serve extra: pip install -e .[serve]")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the test extra)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver); .ci/run installs them",
        allow_module_level=True,
    )

from tests.serving.test_zoo_serve import free_port, zoo_command  # noqa: E402

SENTENCE = "the ball is red"
START_SECONDS = 300


@pytest.fixture(scope="module")
def run_folder(tiny_exports, tmp_path_factory):
    """A run folder as the translation recipe leaves it: checkpoint, tokenizer, export.json."""
    export = tiny_exports["translate"]
    folder = tmp_path_factory.mktemp("run")
    (folder / "checkpoints").mkdir()
    export.model.save(folder / "checkpoints" / "final.keras")
    export.tokenizer.save(folder / "tokenizer")
    request = {"checkpoint": "checkpoints/final.keras", "tokenizer": "tokenizer"}
    (folder / "export.json").write_text(json.dumps(request))
    return folder


@pytest.fixture(scope="module")
def demo(tiny_exports, run_folder, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("demo") / "demo.log"
    command = [
        *zoo_command(),
        "demo-web",
        str(tiny_exports["translate"].path.parent),
        "--attention",
        str(run_folder),
        "--port",
        str(port),
    ]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", TF_CPP_MIN_LOG_LEVEL="2")
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"zoo demo-web exited:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"zoo demo-web did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def expected_translation(export) -> str:
    import tensorflow as tf

    card = json.loads((export.path / "assets" / "zoo.json").read_text())
    max_length = card["serving_default"]["defaults"]["max_length"]
    outputs = export.signatures["translate"](
        text=tf.constant([SENTENCE]),
        beam_width=tf.constant(4, tf.int32),
        max_length=tf.constant(max_length, tf.int32),
    )
    value = np.asarray(outputs["translation"]).ravel()[0]
    return value.decode("utf-8", "replace")


def test_typing_a_sentence_shows_its_translation_and_the_attention_heatmap(
    demo, browser, tiny_exports
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    expected = expected_translation(tiny_exports["translate"])
    assert expected, "the tiny model translates the sentence to something"
    browser.get(demo)
    wait = WebDriverWait(browser, 120)
    source = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#source textarea")))
    source.clear()
    source.send_keys(SENTENCE)
    browser.find_element(By.CSS_SELECTOR, "#translate").click()
    translation = browser.find_element(By.CSS_SELECTOR, "#translation textarea")
    wait.until(lambda _: translation.get_attribute("value"))
    assert translation.get_attribute("value") == expected
    image = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, "#heatmap img[src]")))
    width = browser.execute_script(
        "return arguments[0].complete ? arguments[0].naturalWidth : 0", image
    )
    assert width > 100  # a picture was loaded, not a placeholder
