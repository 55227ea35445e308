// HTTP/1.1 request parsing (complete, partial, pipelined, bad and oversized requests; Content-Length
// headers that disagree; chunked bodies decoded incrementally within limits) and response writing, as used for /health, /version, /metrics and the JSON gateway on the client port.
#include "net/grpc/http1.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::net::http1 {
namespace {

TEST(Http1, ParsesGetWithQueryAndHeaders) {
  const std::string raw = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n";
  request req;
  const auto result = parse_request(raw, limits{}, req);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(result.consumed_bytes, raw.size());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/metrics");
  EXPECT_EQ(req.query, "x=1");
  EXPECT_EQ(req.header("host"), "127.0.0.1");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_TRUE(req.body.empty());
}

TEST(Http1, PostBodyArrivesInPieces) {
  const std::string raw =
      "POST /v3/kv/range HTTP/1.1\r\nContent-Length: 14\r\nContent-Type: application/json\r\n\r\n"
      "{\"key\":\"Zm9v\"}";
  request req;
  for (size_t cut : {size_t{10}, raw.size() - 14, raw.size() - 1}) {
    EXPECT_EQ(parse_request(std::string_view(raw).substr(0, cut), limits{}, req).state,
              parse_status::incomplete)
        << cut;
  }
  const auto result = parse_request(raw, limits{}, req);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(req.body, "{\"key\":\"Zm9v\"}");
}

TEST(Http1, ExpectContinueIsReportedWhileTheBodyIsMissing) {
  const std::string head =
      "POST /v3/kv/put HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  request req;
  EXPECT_TRUE(parse_request(head, limits{}, req).expects_continue);
  EXPECT_FALSE(parse_request(head.substr(0, 20), limits{}, req).expects_continue);
  const std::string whole = head + "body";  // the request's views point into this
  EXPECT_EQ(parse_request(whole, limits{}, req).state, parse_status::complete);
  EXPECT_EQ(req.body, "body");
}

TEST(Http1, PipelinedRequestsAreTakenOneAtATime) {
  const std::string first = "GET /health HTTP/1.1\r\n\r\n";
  const std::string second = "GET /version HTTP/1.1\r\nConnection: close\r\n\r\n";
  const std::string raw = first + second;
  request req;
  auto result = parse_request(raw, limits{}, req);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(req.path, "/health");
  EXPECT_EQ(result.consumed_bytes, first.size());
  result = parse_request(std::string_view(raw).substr(result.consumed_bytes), limits{}, req);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(req.path, "/version");
  EXPECT_FALSE(req.keep_alive);
}

TEST(Http1, RejectsBadAndOversizedRequests) {
  request req;
  EXPECT_EQ(parse_request("GARBAGE\r\n\r\n", limits{}, req).error_http_status, 400);
  EXPECT_EQ(parse_request("GET /x HTTP/3.0\r\n\r\n", limits{}, req).error_http_status, 505);
  EXPECT_EQ(parse_request("GET /x HTTP/1.1\r\nno colon\r\n\r\n", limits{}, req).error_http_status, 400);
  EXPECT_EQ(parse_request("POST /x HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", limits{}, req)
                .error_http_status,
            400);
  EXPECT_EQ(parse_request("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", limits{}, req)
                .error_http_status,
            501);
  limits small;
  small.max_header_bytes = 64;
  small.max_body_bytes = 10;
  EXPECT_EQ(parse_request("GET /x HTTP/1.1\r\nX: " + std::string(100, 'a'), small, req).error_http_status,
            431);
  EXPECT_EQ(parse_request("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small, req)
                .error_http_status,
            413);
  EXPECT_EQ(parse_request("GET /x HTTP/1.0\r\n\r\n", limits{}, req).state, parse_status::complete);
  EXPECT_FALSE(req.keep_alive);  // HTTP/1.0 closes by default
}

TEST(Http1, ContentLengthHeadersMustAgree) {
  request req;
  const auto differing = parse_request("POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
                                       limits{}, req);
  EXPECT_EQ(differing.error_http_status, 400);
  EXPECT_EQ(differing.error, "message cannot contain multiple Content-Length headers");
  const std::string same = "POST /x HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc";
  ASSERT_EQ(parse_request(same, limits{}, req).state, parse_status::complete);  // as Go: equal values pass
  EXPECT_EQ(req.body, "abc");
}

TEST(Http1, ChunkedBodyIsDecodedAsItArrives) {
  const std::string raw =
      "POST /v3/kv/put HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
      "7\r\n{\"key\":\r\nD;name=value\r\n\"Zm9v\",\"v\":1}\r\n0\r\nX-Trailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\n\r\n";
  const size_t first_request_bytes = raw.find("GET /next");
  // Byte by byte through one progress (as the connection feeds it), then from scratch in one piece.
  request req;
  parse_progress progress;
  for (size_t cut = 1; cut < first_request_bytes; ++cut) {
    const auto partial = parse_request(std::string_view(raw).substr(0, cut), limits{}, req, progress);
    ASSERT_EQ(partial.state, parse_status::incomplete) << cut;
  }
  auto result = parse_request(raw, limits{}, req, progress);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(result.consumed_bytes, first_request_bytes);
  EXPECT_EQ(req.body, "{\"key\":\"Zm9v\",\"v\":1}");  // Transfer-Encoding overrides Content-Length
  request whole;
  result = parse_request(raw, limits{}, whole);
  ASSERT_EQ(result.state, parse_status::complete);
  EXPECT_EQ(result.consumed_bytes, first_request_bytes);
}

TEST(Http1, ChunkedBodiesWithinLimitsOnly) {
  const std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  limits small;
  small.max_body_bytes = 10;
  request req;
  EXPECT_EQ(parse_request(head + "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", small, req).state, parse_status::complete);
  EXPECT_EQ(req.body, "helloworld");
  EXPECT_EQ(parse_request(head + "5\r\nhello\r\n6\r\n", small, req).error_http_status, 413);  // decoded size
  EXPECT_EQ(parse_request(head + "ffffffffffffffff\r\n", small, req).error_http_status, 413);
  EXPECT_EQ(parse_request(head + "1ffffffffffffffff\r\n", small, req).error_http_status, 400);
  EXPECT_EQ(parse_request(head + "zz\r\n", small, req).error_http_status, 400);
  EXPECT_EQ(parse_request(head + "5\r\nhelloXX", small, req).error_http_status, 400);  // no CRLF after data
  EXPECT_EQ(parse_request(head + std::string(5000, '1'), small, req).error_http_status, 400);  // endless size line
  limits tight = small;  // chunk extensions pile up wire bytes, not body bytes: bounded too
  tight.max_header_bytes = 1024;
  std::string framing_only = head;
  for (int i = 0; i < 9; ++i) framing_only += "1;" + std::string(200, 'x') + "\r\na\r\n";
  EXPECT_EQ(parse_request(framing_only, tight, req).error_http_status, 413);
  EXPECT_EQ(parse_request(head.substr(0, head.size() - 2) + "Transfer-Encoding: chunked\r\n\r\n", small, req).error_http_status,
            501);  // two Transfer-Encoding headers
  EXPECT_EQ(parse_request("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", small, req).state,
            parse_status::complete);  // HTTP/1.0 has no Transfer-Encoding: ignored, as Go does
}

TEST(Http1, HeadersTricklingInAreSearchedOnce) {
  std::string raw = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 50; ++i) raw += "X-H" + std::to_string(i) + ": v\r\n";
  raw += "\r\n";
  request req;
  parse_progress progress;
  for (size_t cut = 1; cut < raw.size(); ++cut) {
    ASSERT_EQ(parse_request(std::string_view(raw).substr(0, cut), limits{}, req, progress).state, parse_status::incomplete);
    ASSERT_GE(progress.head_searched + 3, cut);
  }
  EXPECT_EQ(parse_request(raw, limits{}, req, progress).state, parse_status::complete);
}

TEST(Http1, WritesResponseWithLength) {
  std::string out;
  write_response(out, {200, "application/json", "{\"health\":\"true\"}", {}}, true);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
            "{\"health\":\"true\"}");
  out.clear();
  write_response(out, {404, "text/plain", "404 page not found\n", {{"X-Etcd-Cluster-Id", "1"}}}, false);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
            "X-Etcd-Cluster-Id: 1\r\nConnection: close\r\n\r\n404 page not found\n");
}

}  // namespace
}  // namespace ringkv::net::http1
