"""What the Python clients share: a check that stops at the first failure, and a server
stream read on a thread, so that a test can wait for its next item with a timeout."""

import queue
import sys
import threading

import grpc

passed = 0


def check(condition, what):
    """Counts a check that held; on one that failed, says which and exits 1."""
    global passed
    if not condition:
        print(f"FAILED: {what}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1


class Stream:
    """Reads a server stream (a grpcio call) on a thread."""

    def __init__(self, call):
        self.items = queue.Queue()
        self.call = call
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        try:
            for item in self.call:
                self.items.put(item)
            self.items.put(None)
        except grpc.RpcError as e:
            self.items.put(e)

    def next(self, kind=None):
        """The next item as (kind, value), heartbeats skipped unless `kind` asks for one;
        None when the stream ended; the stream's error, raised, when it failed."""
        while True:
            item = self.items.get(timeout=15)
            if isinstance(item, grpc.RpcError):
                raise item
            if item is None:
                return None
            which = item.WhichOneof("item")
            if which == "heartbeat" and kind != "heartbeat":
                continue
            return which, getattr(item, which)

    def close(self):
        self.call.cancel()
