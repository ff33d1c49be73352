# ruff: noqa: E402  (imports timed on purpose)
import sys
import time

T0 = time.perf_counter()
import ray
from fastapi import FastAPI, Request
from ray import serve

app = FastAPI()


@serve.deployment
@serve.ingress(app)
class Echo:
    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def run(self, items):
        return [len(str(x)) for x in items]

    @app.post("/v1/models/echo:predict")
    async def predict(self, request: Request):
        body = await request.json()
        return {"predictions": [await self.run(x) for x in body["instances"]]}


if __name__ == "__main__":
    print("import", time.perf_counter() - T0, flush=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})
    serve.run(Echo.bind(), route_prefix="/", blocking=False)
    print("ready", time.perf_counter() - T0, flush=True)
    while True:
        time.sleep(3600)
