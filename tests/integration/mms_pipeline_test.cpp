// End-to-end over MMS (MS-MMSP): the real mmssrc against the in-process
// mms-server on 127.0.0.1 over MMS/TCP and MMS/UDP, protocol rollover for
// mms:// URLs, seeks, errors and UDP loss recovery. Correctness is decoded
// content: per-pad frame checksums over the network equal those of the file.
// (The pipeline helpers are in harness.h.)
#include <cstdlib>
#include <memory>
#include <string>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"
#include "tools/server/server.h"

namespace mms_test {
namespace {

class MmsPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string cmd = "bash '" + std::string(MMS_SOURCE_ROOT) +
                      "/tests/media/make-test-media.sh' '" + media_dir() + "' default >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "could not generate test media";
  }

  void start_server(mms::server::ServerOptions opts = {}) {
    if (opts.root == ".") {
      opts.root = media_dir();
    }
    opts.bind_address = "127.0.0.1";
    opts.fast = true;
    opts.mmsh_port = 0;
    opts.mms_port = 0;
    server_ = std::make_unique<mms::server::Server>();
    mms::Status st = server_->start(opts);
    ASSERT_TRUE(st.ok()) << st.what();
  }
  // MMS URLs use the MMS port; mmsh:// the MMSH port.
  std::string url(const std::string& name, const char* scheme = "mmst") const {
    const bool http = std::string(scheme) == "mmsh";
    return std::string(scheme) +
           "://127.0.0.1:" + std::to_string(http ? server_->mmsh_port() : server_->mms_port()) +
           "/" + name;
  }
  static std::string mmssrc(const std::string& u, const std::string& props = "") {
    return "mmssrc location=" + u + " timeout=10 " + props;
  }
  static std::string filesrc(const std::string& path) {
    return "filesrc location=" + path + " ! queue";
  }
  void expect_same_content(const std::string& net_src, const std::string& local_src,
                           RunResult* net_out = nullptr) {
    RunResult own;
    RunResult* net = net_out != nullptr ? net_out : &own;
    RunResult local;
    run_pipeline(net_src, net);
    run_pipeline(local_src, &local);
    ASSERT_EQ(net->error, nullptr) << net->error->message;
    ASSERT_EQ(local.error, nullptr) << local.error->message;
    EXPECT_TRUE(net->eos);
    ASSERT_FALSE(local.pads.empty());
    ASSERT_EQ(net->pads.size(), local.pads.size());
    for (const auto& [name, log] : local.pads) {
      ASSERT_TRUE(net->pads.count(name)) << name;
      EXPECT_FALSE(log.frames.empty()) << name;
      EXPECT_EQ(net->pads[name].frames.size(), log.frames.size()) << name;
      EXPECT_TRUE(net->pads[name].frames == log.frames) << name << ": decoded frames differ";
    }
  }

  std::unique_ptr<mms::server::Server> server_;
};

std::vector<std::string> attempts_of(const GstStructure* details) {
  std::vector<std::string> out;
  const GValue* v = gst_structure_get_value(details, "mms-attempts");
  if (v == nullptr || !GST_VALUE_HOLDS_ARRAY(v)) {
    return out;
  }
  for (guint i = 0; i < gst_value_array_get_size(v); ++i) {
    out.emplace_back(g_value_get_string(gst_value_array_get_value(v, i)));
  }
  return out;
}

TEST_F(MmsPipeline, MmstFramesMatchTheFile) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url("av-wmv2-wma2-10s.asf", "mmst")),
                      filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"), &net);
  EXPECT_EQ(net.transports, (std::vector<std::string>{"mmst"}));
}

TEST_F(MmsPipeline, MmsuFramesMatchTheFile) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url("av-wmv2-wma2-10s.asf", "mmsu")),
                      filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"), &net);
  EXPECT_EQ(net.transports, (std::vector<std::string>{"mmsu"}));
}

TEST_F(MmsPipeline, MmsuWithinAPortRange) {
  start_server();
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mmsu"), "port-range=0-0"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"));
}

TEST_F(MmsPipeline, UdpLossIsRecovered) {
  mms::server::ServerOptions o;
  o.udp_loss_percent = 5;
  start_server(o);
  expect_same_content(mmssrc(url("av-wmv2-wma2-10s.asf", "mmsu")),
                      filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"));
}

TEST_F(MmsPipeline, SeekOverMmstPlaysTheFileFromTheTarget) {
  start_server();
  expect_seek_lands(mmssrc(url("av-wmv2-wma2-10s.asf", "mmst")),
                    filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"), 5 * GST_SECOND);
}

TEST_F(MmsPipeline, MmsRollsOverToMmshWhenMmsIsRefused) {
  mms::server::ServerOptions o;
  o.refuse = {"mms"};
  start_server(o);
  // No MMS listener: the mms:// URL names the MMSH port, where MMS/UDP and
  // MMS/TCP fail at once (not an MMS server), and MMSH wins.
  std::string u = "mms://127.0.0.1:" + std::to_string(server_->mmsh_port()) + "/audio-wma2-10s.wma";
  RunResult net;
  expect_same_content(mmssrc(u), filesrc(media_dir() + "/audio-wma2-10s.wma"), &net);
  EXPECT_EQ(net.transports, (std::vector<std::string>{"mmsh"}));
}

TEST_F(MmsPipeline, MmsRollsOverToMmstWhenUdpIsSilent) {
  mms::server::ServerOptions o;
  o.refuse = {"mmsu"};
  start_server(o);
  RunResult net;
  const gint64 t0 = g_get_monotonic_time();
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mms"), "udp-timeout=1000000"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"), &net);
  EXPECT_EQ(net.transports, (std::vector<std::string>{"mmst"}));
  EXPECT_LT(g_get_monotonic_time() - t0, 20 * G_USEC_PER_SEC);
}

TEST_F(MmsPipeline, ProtocolsListOrdersTheAttempts) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mms"), "protocols=mmst,mmsh"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"), &net);
  EXPECT_EQ(net.transports, (std::vector<std::string>{"mmst"}));
}

void expect_error(const std::string& src, gint code, const char* mms_code,
                  std::vector<std::string> attempts) {
  RunResult r;
  run_pipeline(src, &r, -1, 30);
  ASSERT_NE(r.error, nullptr) << "expected an error, got " << (r.eos ? "EOS" : "nothing");
  EXPECT_EQ(r.error->domain, GST_RESOURCE_ERROR) << r.error->message;
  EXPECT_EQ(r.error->code, code) << r.error->message;
  EXPECT_FALSE(r.eos);
  ASSERT_NE(r.error_details, nullptr);
  EXPECT_STREQ(gst_structure_get_string(r.error_details, "mms-code"), mms_code);
  EXPECT_EQ(attempts_of(r.error_details), attempts);
}

TEST_F(MmsPipeline, MissingFileIsNotFoundWithTheHresult) {
  start_server();
  RunResult r;
  run_pipeline(mmssrc(url("nope.asf", "mmst")), &r, -1, 30);
  ASSERT_NE(r.error, nullptr);
  EXPECT_EQ(r.error->code, GST_RESOURCE_ERROR_NOT_FOUND) << r.error->message;
  ASSERT_NE(r.error_details, nullptr);
  guint detail = 0;
  EXPECT_TRUE(gst_structure_get_uint(r.error_details, "mms-detail", &detail));
  EXPECT_TRUE((detail & 0x80000000u) != 0) << std::hex << detail;  // an HRESULT
  EXPECT_STREQ(gst_structure_get_string(r.error_details, "mms-transport"), "mmst");
  // Over mms:// the walk stops at once: another transport will not find it.
  // (RTSP on the MMS port fails fast first: the MMS server does not speak it.)
  expect_error(mmssrc(url("nope.asf", "mms")), GST_RESOURCE_ERROR_NOT_FOUND, "not-found",
               {"rtspu", "rtspt", "mmsu"});
}

TEST_F(MmsPipeline, AuthenticationOverMms) {
  mms::server::ServerOptions o;
  o.auth_user = "alice";
  o.auth_password = "s3cret";
  start_server(o);
  expect_error(mmssrc(url("audio-wma2-10s.wma", "mmst")), GST_RESOURCE_ERROR_NOT_AUTHORIZED,
               "not-authorized", {"mmst"});
  expect_error(mmssrc(url("audio-wma2-10s.wma", "mmst"), "user-id=alice user-pw=wrong"),
               GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized", {"mmst"});
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mmst"), "user-id=alice user-pw=s3cret"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"));
}

TEST_F(MmsPipeline, NtlmAuthenticationOverMmstAndMmsu) {
  mms::server::ServerOptions o;
  o.auth_user = "alice";
  o.auth_password = "s3cret";
  o.auth_schemes = mms::auth::kSchemeNtlm;  // as --auth-scheme ntlm
  start_server(o);
  for (const char* scheme : {"mmst", "mmsu"}) {
    SCOPED_TRACE(scheme);
    RunResult net;
    expect_same_content(mmssrc(url("av-wmv2-wma2-10s.asf", scheme), "user-id=alice user-pw=s3cret"),
                        filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"), &net);
    EXPECT_EQ(net.transports, (std::vector<std::string>{scheme}));
    expect_error(mmssrc(url("av-wmv2-wma2-10s.asf", scheme), "user-id=alice user-pw=wrong"),
                 GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized", {scheme});
  }
  // A domain before the user name, and credentials in the URL.
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mmst"),
                             "user-id=WORKGROUP\\\\alice "
                             "user-pw=s3cret"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"));
  const std::string with_creds =
      "mmst://alice:s3cret@127.0.0.1:" + std::to_string(server_->mms_port()) +
      "/audio-wma2-10s.wma";
  expect_same_content(mmssrc(with_creds), filesrc(media_dir() + "/audio-wma2-10s.wma"));
  expect_error(mmssrc(url("audio-wma2-10s.wma", "mmst")), GST_RESOURCE_ERROR_NOT_AUTHORIZED,
               "not-authorized", {"mmst"});
}

TEST_F(MmsPipeline, AllTransportsFailingListsTheAttempts) {
  start_server();
  std::uint16_t port = server_->mms_port();
  server_->stop();
  expect_error("mmssrc timeout=3 udp-timeout=500000 location=mms://127.0.0.1:" +
                   std::to_string(port) + "/x.asf",
               GST_RESOURCE_ERROR_OPEN_READ, "refused", {"rtspu", "rtspt", "mmsu", "mmst", "mmsh"});
}

}  // namespace
}  // namespace mms_test
