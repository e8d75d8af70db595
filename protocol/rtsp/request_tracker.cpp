#include "protocol/rtsp/request_tracker.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace mms::rtsp {

Status Authenticator::on_challenge(const Response& resp, const Credentials& credentials) {
  if (resp.status == 407) {
    return Status(Code::kNotAuthorized, "RTSP proxy authentication is not supported", 407);
  }
  return auth_.on_challenge(resp.headers.all("WWW-Authenticate"), resp.status, credentials);
}

void Authenticator::authorize(Request* req, const Credentials& credentials) {
  std::string v = auth_.authorization(req->method, req->uri, credentials);
  if (!v.empty()) {
    req->headers.set("Authorization", std::move(v));
  }
}

RequestTracker::Stamped RequestTracker::send(Request req, Sent what, std::size_t stream,
                                             const Credentials& credentials) {
  req.headers.remove("CSeq");
  req.headers.remove("Authorization");
  Stamped out;
  out.cseq = ++cseq_;
  req.headers.add("CSeq", std::to_string(out.cseq));
  auth_.next_request();
  auth_.authorize(&req, credentials);
  out.wire = write_request(req);
  if (outstanding_.size() >= kMaxOutstandingRequests) {
    outstanding_.erase(outstanding_.begin());
  }
  Outstanding o;
  o.what = what;
  o.stream = stream;
  o.request = std::move(req);
  outstanding_[out.cseq] = std::move(o);
  if (what == Sent::kPlay) {
    play_cseq_ = out.cseq;
  }
  return out;
}

std::optional<Outstanding> RequestTracker::take(std::uint32_t cseq) {
  auto it = outstanding_.find(cseq);
  if (it == outstanding_.end()) {
    return std::nullopt;
  }
  Outstanding o = std::move(it->second);
  outstanding_.erase(it);
  return o;
}

}  // namespace mms::rtsp
