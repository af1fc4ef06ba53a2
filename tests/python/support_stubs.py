"""The service's Python stubs, generated from proto/ with grpcio-tools into a temporary
directory and put on the import path: `import support_stubs` then `from support.v1 import ...`."""

import os
import sys
import tempfile

from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = tempfile.mkdtemp(prefix="support-py-")
PROTOS = [
    "support/v1/common.proto",
    "support/v1/department_service.proto",
    "support/v1/customer_service.proto",
    "support/v1/agent_service.proto",
    "support/v1/ticket_service.proto",
    "support/v1/log_service.proto",
    "support/v1/auth_service.proto",
    "support/v1/webhook_service.proto",
    "support/v1/call_service.proto",
]
_well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
_code = protoc.main(
    ["protoc", f"-I{os.path.join(ROOT, 'proto')}", f"-I{_well_known}", f"--python_out={OUT}", f"--grpc_python_out={OUT}"]
    + PROTOS
)
assert _code == 0, f"protoc failed with {_code}"
sys.path.insert(0, OUT)


def bearer(token):
    """The metadata of a call carrying `token`."""
    return [("authorization", f"Bearer {token}")]
