import json
import statistics
import subprocess
import sys
import time
import urllib.request

py, script, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
proc = subprocess.Popen([py, script, str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
url = f"http://127.0.0.1:{port}/v1/models/echo:predict"
body = json.dumps({"instances": ["the ball is red", "hello"]}).encode()


def call():
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=5).read())


while True:
    try:
        out = call()
        break
    except Exception:
        if proc.poll() is not None:
            print(proc.stdout.read().decode()[-3000:])
            sys.exit(1)
        time.sleep(0.1)
ready = time.perf_counter() - t0
times = []
for _ in range(50):
    s = time.perf_counter()
    call()
    times.append(time.perf_counter() - s)
print(
    f"{script}: first answer {out} after {ready:.1f} s; 50 requests "
    f"p50 {statistics.median(times) * 1e3:.1f} ms max {max(times) * 1e3:.1f} ms"
)

try:
    import psutil

    rss = sum(
        p.memory_info().rss
        for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    )
    print(f"RSS of server process tree: {rss / 2**20:.0f} MiB")
except Exception as e:
    print(e)
proc.terminate()
proc.wait(10)
