-- wrk script: one request, reporting p50/p95/p99. Environment: METHOD (default POST),
-- BODY (form-encoded server-function arguments), CT (content type), COOKIE (the session).
wrk.method = os.getenv("METHOD") or "POST"
wrk.body = os.getenv("BODY")
if os.getenv("COOKIE") then
  wrk.headers["Cookie"] = os.getenv("COOKIE")
end
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = os.getenv("CT") or "application/x-www-form-urlencoded"
end

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.0f  p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
