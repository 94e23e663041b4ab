"""`bgd server start CONFIG`, with one fix to BuildGrid's ByteStream Write for Bazel's client.

BuildGrid's Write returns its response as soon as it has read the request that carries
finish_write, before the client has half-closed the stream. gRPC's Python server then resets
the stream, and Bazel's (Java) client reports about half of its uploads as CANCELLED; its retry
asks QueryWriteStatus, which BuildGrid does not implement, and the action fails with "errors
during bulk transfer". Here Write reads the stream to its end before it returns.
"""

import sys

import grpc
from buildgrid.server.app import cli
from buildgrid.server.cas import service as cas_service

_write = cas_service.ByteStreamService.Write


def _write_to_the_end(self, request_iterator, context):
    response = _write(self, request_iterator, context)
    try:
        for _ in request_iterator:
            pass
    except grpc.RpcError:
        pass  # the client went away after the blob was stored: nothing to add
    return response


cas_service.ByteStreamService.Write = _write_to_the_end

if __name__ == "__main__":
    sys.argv = ["bgd", "server", "start", *sys.argv[1:]]
    sys.exit(cli())
