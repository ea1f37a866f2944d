-- wrk script: DescribeWorkspaces over AWS JSON 1.1, first page (25 WorkSpaces), as an SDK sends it.
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "WorkspacesService.DescribeWorkspaces"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000"
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
