"""S3 decodes an ``aws-chunked`` upload body in linear time.

What moto lacks: ``S3Response._handle_encoded_body`` (the ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``
bodies botocore sends over HTTPS since its flexible-checksum default, 1.36) decodes chunk by
chunk with ``decoded_body += chunk``: every chunk copies all the bytes before it, so a body of
n chunks costs O(n^2) copying. botocore sends 1 MiB chunks, so a 40 MB PutObject (the
1,000,000-row standardized shard) copies ~0.8 GB; the Lambda handler's dataset upload pays
the same.

The patch decodes into a list of chunks joined once, and keeps moto's behaviour otherwise: a
hex size line, the data, a CRLF, until the zero-size chunk; the trailer (``x-amz-checksum-*``)
after it is ignored, as moto does (the checksum is recomputed from the decoded body).
"""

from __future__ import annotations

import io
from typing import Any


def decode_aws_chunked(body: io.BufferedIOBase | bytes | None) -> bytes:
    """The payload of an ``aws-chunked`` body (``<hex size>\\r\\n<data>\\r\\n`` ... ``0\\r\\n<trailer>``)."""
    if not body:
        return b""
    stream = io.BytesIO(body) if isinstance(body, (bytes, bytearray)) else body
    chunks = []
    size = int(stream.readline().split(b";", 1)[0].strip() or b"0", 16)
    while size > 0:
        chunk = stream.read(size)
        if len(chunk) < size:
            raise ValueError(f"aws-chunked body ends inside a chunk ({len(chunk)} of {size} bytes)")
        chunks.append(chunk)
        stream.readline()  # the CRLF after the data
        size = int(stream.readline().split(b";", 1)[0].strip() or b"0", 16)
    return b"".join(chunks)


def apply() -> None:
    from moto.s3.responses import S3Response

    def _handle_encoded_body(self: Any, body: io.BufferedIOBase | bytes) -> bytes:
        return decode_aws_chunked(body)

    S3Response._handle_encoded_body = _handle_encoded_body
