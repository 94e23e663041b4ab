"""`bgd server start CONFIG`, with BuildGrid's ByteStream Write reading its stream to the end.

BuildGrid's Write returns its response as soon as it has read the request that carries
finish_write, before the client has half-closed the stream. Here it reads on to the end of the
stream before it returns: a guard against the server resetting a stream the client still
writes to. (The CANCELLED uploads seen with Bazel's default of 100 connections stopped only
with --remote_max_connections=1: docs/releases.md, "Remote execution".)
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
