"""An OTLP/HTTP metrics receiver for the tests: decodes every request with the
opentelemetry-proto package (so the decoding is not ours) and answers as scripted.

    otlp_receiver.py REPLIES

REPLIES is a comma-separated list, one per request in order, then 200 for the rest:
a status code (`503`), or `partial:N:MESSAGE` (200 with a partial success rejecting N
points). Prints the port it listens on (loopback), then serves. GET /requests gives
every request so far as JSON: path, headers, the reply given, and the decoded request
(protobuf's JSON mapping).
"""

import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

replies = [reply for reply in sys.argv[1].split(",") if reply] if len(sys.argv) > 1 else []
requests = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        raw = gzip.decompress(body) if encoding == "gzip" else body
        request = ExportMetricsServiceRequest()
        request.ParseFromString(raw)
        with lock:
            reply = replies.pop(0) if replies else "200"
            requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type", ""),
                    "content_encoding": encoding,
                    "user_agent": self.headers.get("User-Agent", ""),
                    "reply": reply,
                    "request": MessageToDict(request),
                }
            )
        response = ExportMetricsServiceResponse()
        status = 200
        if reply.startswith("partial:"):
            _, rejected, message = reply.split(":", 2)
            response.partial_success.rejected_data_points = int(rejected)
            response.partial_success.error_message = message
        else:
            status = int(reply)
        payload = response.SerializeToString() if status == 200 else b"busy"
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        with lock:
            payload = json.dumps(requests).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
