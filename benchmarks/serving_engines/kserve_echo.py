# ruff: noqa: E402  (imports timed on purpose)
import sys
import time

T0 = time.perf_counter()
from kserve import Model, ModelServer


class Echo(Model):
    def __init__(self, name):
        super().__init__(name)
        self.load()

    def load(self):
        self.ready = True
        return True

    async def predict(self, payload, headers=None, response_headers=None):
        return {"predictions": [len(str(x)) for x in payload["instances"]]}


if __name__ == "__main__":
    print("import", time.perf_counter() - T0, flush=True)
    ModelServer(
        http_port=int(sys.argv[1]), grpc_port=int(sys.argv[1]) + 1, workers=1, enable_grpc=False
    ).start([Echo("echo")])
