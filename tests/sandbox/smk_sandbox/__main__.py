"""python -m smk_sandbox [--port PORT] [--demo]: serve the sandbox on 127.0.0.1 in the
foreground; the first line on stdout is `ready http://127.0.0.1:PORT`. --demo seeds it
for examples/demo/kernel.toml first (see smk_sandbox/demo.py)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/sandbox/run", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("SM_KERNEL_SANDBOX_PORT", "5199")),
                        help="TCP port on 127.0.0.1 (0 picks a free one); default 5199")
    parser.add_argument("--demo", action="store_true",
                        help="seed a demo Studio account (role, domain, another team's image) with realistic timings")
    args = parser.parse_args(argv)

    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # anything moto prints goes to stderr

    from .server import SandboxServer

    try:
        server = SandboxServer("127.0.0.1", args.port).start()
    except (OSError, SystemExit) as e:  # werkzeug exits when the port is taken
        print(f"sm-kernel sandbox: cannot listen on 127.0.0.1:{args.port}: {e or 'address in use'}", file=sys.stderr)
        return 1
    if args.demo:
        from . import demo

        try:
            demo.seed(server.url)
        except Exception as e:  # a half-seeded demo would only confuse
            print(f"sm-kernel sandbox: seeding the demo failed: {e}", file=sys.stderr)
            server.stop()
            return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    real_stdout.write(f"ready {server.url}\n")
    real_stdout.flush()
    print(f"sm-kernel sandbox (moto) serving {server.url}; control endpoints under {server.url}/_sandbox/",
          file=sys.stderr)
    if args.demo:
        print("demo: role service-role/AmazonSageMaker-ExecutionRole-Demo, domain d-smkerneldemo "
              "(with the geo team's image geo-r attached); builds take about 20 s.\n"
              "      In another terminal: cargo run --release -- publish --config examples/demo/kernel.toml",
              file=sys.stderr)
    while not stop.is_set():
        stop.wait(1.0)
    server.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # leave without interpreter finalisation: request threads of werkzeug's
    # threaded server may still be writing to stderr, which can abort the
    # interpreter at shutdown
    sys.stderr.flush()
    sys.__stdout__.flush()
    os._exit(code)
