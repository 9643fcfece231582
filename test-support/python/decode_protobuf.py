"""Decodes a Prometheus protobuf exposition with Google's protobuf library and the
upstream client_model `metrics.proto`, compiled here with grpc_tools' protoc: a decoder
that is not ours. Usage: decode_protobuf.py METRICS_PROTO FILE. Prints the families as
JSON (protobuf's JSON mapping: camelCase field names, 64-bit integers as strings), or
exits 1 with the decoder's complaint."""
import importlib.util
import json
import os
import sys
import tempfile

from google.protobuf import json_format
from google.protobuf.internal.decoder import _DecodeVarint32
from grpc_tools import protoc


def compile_proto(proto_path, out_dir):
    include = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(proto_path))))
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    relative = os.path.relpath(proto_path, include)
    status = protoc.main(
        ["protoc", f"-I{include}", f"-I{well_known}", f"--python_out={out_dir}", relative]
    )
    if status != 0:
        raise RuntimeError(f"protoc failed on {proto_path}")
    # Loaded from its file: the package `io` would be Python's own module.
    generated = os.path.join(out_dir, relative[: -len(".proto")] + "_pb2.py")
    spec = importlib.util.spec_from_file_location("metrics_pb2", generated)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    proto_path, path = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out_dir:
        metrics = compile_proto(proto_path, out_dir)
        with open(path, "rb") as file:
            document = file.read()
        families = []
        position = 0
        try:
            while position < len(document):
                length, position = _DecodeVarint32(document, position)
                family = metrics.MetricFamily()
                family.ParseFromString(document[position : position + length])
                if position + length > len(document):
                    raise ValueError("a message runs past the end of the document")
                position += length
                families.append(json_format.MessageToDict(family))
        except Exception as error:
            print(f"protobuf: {type(error).__name__}: {error}")
            return 1
        print(json.dumps(families))
    return 0


if __name__ == "__main__":
    sys.exit(main())
