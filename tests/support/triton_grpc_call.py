"""One V2 gRPC call with tritonclient.grpc, as its own process (`clients.triton_grpc_translate`).

Reads {"target", "model", "texts", "parameters"} as JSON on stdin and prints the translations
as a JSON list; a failed call exits 1 with tritonclient's error on stderr.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.grpc as triton_grpc
from tritonclient.utils import InferenceServerException


def main() -> int:
    request = json.load(sys.stdin)
    client = triton_grpc.InferenceServerClient(request["target"])
    texts = request["texts"]
    text = triton_grpc.InferInput("text", [len(texts)], "BYTES")
    text.set_data_from_numpy(np.array([t.encode("utf-8") for t in texts], dtype=object))
    try:
        result = client.infer(
            request["model"], [text], parameters=request["parameters"] or None, client_timeout=60
        )
    except InferenceServerException as exc:
        print(f"{exc.status()}: {exc.message()}", file=sys.stderr)
        return 1
    finally:
        client.close()
    translations = result.as_numpy("translation")
    print(json.dumps([value.decode("utf-8") for value in translations.tolist()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
