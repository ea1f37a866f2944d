-- wrk script: DescribeWorkspaces over Smithy RPC v2 CBOR, first page (25 WorkSpaces), as an SDK
-- sends it. Use with the URL http://HOST:PORT/service/WorkspacesService/operation/DescribeWorkspaces
wrk.method = "POST"
wrk.body = string.char(0xa0) -- an empty CBOR map: no parameters
wrk.headers["Content-Type"] = "application/cbor"
wrk.headers["Accept"] = "application/cbor"
wrk.headers["smithy-protocol"] = "rpc-v2-cbor"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=host;smithy-protocol;x-amz-date, Signature=0000"
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
