// The MMS and RTSP client handshakes as session scripts (tests/support/session_script.h):
// tests/vectors/mmst/*.script and tests/vectors/rtsp/*.script.
//
// Line grammar of what the client does:
//   connect <channel> <host>:<port>        a TCP connection is opened
//   send <channel> message <MID> seq=...   an MMS message the client wrote (fields as in
//                                          tests/unit/mmst_describe.h)
//   send <channel> <METHOD> <uri> RTSP/1.0 an RTSP request, then one
//   send <channel> | <Name>: <value>       line per header, and
//   send <channel> | body <n> bytes        for a body
//   send <channel> RTSP/1.0 <code>         an RTSP response (to a server request), headers alike
//   close <channel>, bind-udp ..., sendto ...
//   event connected|header|packet|eos|redirect|failed ...  (session_script.h show_event)
//
// Peer directives:
//   mms: <Message> [key=value ...]         an MMS message from the server, MID name without
//                                          "LinkMacToViewer" (ReportConnectedEX version=...
//                                          auth=..., ReportFunnelInfo cubs=, ReportOpenFile
//                                          inc= id= attrs= media=<fixture> bitrate=,
//                                          ReportReadBlock inc=, ReportStartedPlaying inc=,
//                                          ReportEndOfStream inc= hr=, hr= on every report);
//                                          the server's sequence number counts up per case
//   mms-header: <fixture> <incarnation> [<fragment bytes>]  the fixture's ASF header as
//                                          MMS header data packets (default 1000 bytes each)
//   mms-packets: <fixture> <incarnation> <first> <count>    its data packets (AFFlags = n)
//   sdp: <fixture> [<control URL>]         the WMS SDP of the fixture's header
// <fixture> names a file of tests/media/fixtures/.
#include "tests/support/session_script.h"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/core/url.h"
#include "protocol/mmst/client_session.h"
#include "protocol/mmst/messages.h"
#include "protocol/rtsp/client_session.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/sdp_wms.h"
#include "tests/unit/mmst_describe.h"

namespace mms::test {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Fixture {
  Bytes header;
  std::vector<Bytes> packets;
  std::uint32_t packet_size = 0;
  bool ok = false;
};

const Fixture& fixture(const std::string& name) {
  static std::map<std::string, Fixture> cache;
  auto it = cache.find(name);
  if (it != cache.end()) {
    return it->second;
  }
  Fixture& f = cache[name];
  std::ifstream in(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/" + name,
                   std::ios::binary);
  const Bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<asf::FileLayout> layout = asf::scan_file(ByteView(file.data(), file.size()));
  if (!layout.ok()) {
    return f;
  }
  f.header.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
  f.packet_size = layout->info.packet_size;
  for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
    auto b = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + i * f.packet_size);
    f.packets.emplace_back(b, b + f.packet_size);
  }
  f.ok = true;
  return f;
}

session::ClientConfig config_of(const ScriptCase& c) {
  session::ClientConfig cfg;
  Result<Url> u = parse_url(c.setting("url"));
  EXPECT_TRUE(u.ok()) << c.title << ": bad url";
  if (u.ok()) {
    cfg.url = *u;
  }
  cfg.user = c.setting("user");
  cfg.password = c.setting("password");
  cfg.client_guid = "{2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}";
  cfg.timeout = 10 * kSecond;
  cfg.udp_timeout = 5 * kSecond;
  return cfg;
}

std::map<std::string, std::string> key_values(std::istringstream* in) {
  std::map<std::string, std::string> kv;
  std::string word;
  while (*in >> word) {
    const std::size_t eq = word.find('=');
    if (eq == std::string::npos) {
      kv["?"] = word;
    } else {
      kv[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return kv;
}

std::uint32_t num(const std::string& v) {
  return static_cast<std::uint32_t>(std::stoul(v, nullptr, 0));
}

// --- MMS ---------------------------------------------------------------------

struct MmsPeer {
  std::uint16_t seq = 0;

  bool message(const std::string& args, Bytes* out) {
    using namespace mmst;  // NOLINT(google-build-using-namespace)
    std::istringstream in(args);
    std::string name;
    in >> name;
    static const std::map<std::string, std::uint32_t> kMids = {
        {"ReportConnectedEX", kLinkMacToViewerReportConnectedEX},
        {"ReportConnectedFunnel", kLinkMacToViewerReportConnectedFunnel},
        {"ReportDisconnectedFunnel", kLinkMacToViewerReportDisconnectedFunnel},
        {"ReportStartedPlaying", kLinkMacToViewerReportStartedPlaying},
        {"ReportOpenFile", kLinkMacToViewerReportOpenFile},
        {"ReportReadBlock", kLinkMacToViewerReportReadBlock},
        {"ReportFunnelInfo", kLinkMacToViewerReportFunnelInfo},
        {"Ping", kLinkMacToViewerPing},
        {"ReportEndOfStream", kLinkMacToViewerReportEndOfStream},
        {"ReportStreamSwitch", kLinkMacToViewerReportStreamSwitch},
        {"ReportRedirect", kLinkMacToViewerReportRedirect},
    };
    auto mid = kMids.find(name);
    if (mid == kMids.end()) {
      return false;
    }
    Message m = make_message(mid->second);
    for (const auto& [k, v] : key_values(&in)) {
      bool known = true;
      switch (m.mid) {
        case kLinkMacToViewerReportConnectedEX:
          if (k == "hr") {
            m.report_connected_ex.hr = num(v);
          } else if (k == "version") {
            m.report_connected_ex.server_version_info = v;
          } else if (k == "auth") {
            m.report_connected_ex.authen_package = v;
          } else {
            known = false;
          }
          break;
        case kLinkMacToViewerReportFunnelInfo:
          if (k == "cubs") {
            m.report_funnel_info.n_cubs = num(v);
          } else {
            known = false;
          }
          break;
        case kLinkMacToViewerReportConnectedFunnel:
          known = k == "hr";
          m.report_connected_funnel.hr = known ? num(v) : 0;
          break;
        case kLinkMacToViewerReportOpenFile: {
          ReportOpenFile& r = m.report_open_file;
          if (k == "hr") {
            r.hr = num(v);
          } else if (k == "inc") {
            r.play_incarnation = num(v);
          } else if (k == "id") {
            r.open_file_id = num(v);
          } else if (k == "attrs") {
            r.file_attributes = num(v);
          } else if (k == "bitrate") {
            r.file_bit_rate = num(v);
          } else if (k == "media") {
            const Fixture& f = fixture(v);
            r.file_packet_size = f.packet_size;
            r.file_packet_count = f.packets.size();
            r.file_header_size = static_cast<std::uint32_t>(f.header.size());
            known = f.ok;
          } else {
            known = false;
          }
          break;
        }
        case kLinkMacToViewerReportReadBlock:
          if (k == "inc") {
            m.report_read_block.play_incarnation = num(v);
          } else {
            known = k == "hr";
            m.report_read_block.hr = known ? num(v) : 0;
          }
          break;
        case kLinkMacToViewerReportStartedPlaying:
          if (k == "inc") {
            m.report_started_playing.play_incarnation = num(v);
          } else {
            known = k == "hr";
            m.report_started_playing.hr = known ? num(v) : 0;
          }
          break;
        case kLinkMacToViewerReportEndOfStream:
          if (k == "inc") {
            m.report_end_of_stream.play_incarnation = num(v);
          } else {
            known = k == "hr";
            m.report_end_of_stream.hr = known ? num(v) : 0;
          }
          break;
        case kLinkMacToViewerReportRedirect:
          known = k == "location";
          m.report_redirect.wsz_location = v;
          break;
        default:
          known = false;
          break;
      }
      if (!known) {
        return false;
      }
    }
    m.header.seq = seq++;
    return encode_message(m, out).ok();
  }

  static bool header(const std::string& args, Bytes* out) {
    std::istringstream in(args);
    std::string name;
    unsigned inc = 0;
    std::size_t frag = 1000;
    in >> name >> inc;
    if (!in) {
      return false;
    }
    in >> frag;
    const Fixture& f = fixture(name);
    if (!f.ok || inc > 0xFF) {
      return false;
    }
    mmst::encode_header_packets(ByteView(f.header.data(), f.header.size()),
                                static_cast<std::uint8_t>(inc), frag, out);
    return true;
  }

  static bool packets(const std::string& args, Bytes* out) {
    std::istringstream in(args);
    std::string name;
    unsigned inc = 0;
    std::size_t first = 0;
    std::size_t count = 0;
    in >> name >> inc >> first >> count;
    const Fixture& f = fixture(name);
    if (!in || !f.ok || inc > 0xFF || first + count > f.packets.size()) {
      return false;
    }
    for (std::size_t n = first; n < first + count; ++n) {
      const Bytes& p = f.packets[n];
      if (!mmst::encode_data_packet(static_cast<std::uint32_t>(n), static_cast<std::uint8_t>(inc),
                                    static_cast<std::uint8_t>(n), ByteView(p.data(), p.size()), out)
               .ok()) {
        return false;
      }
    }
    return true;
  }
};

ScriptProtocol mms_protocol() {
  auto peer = std::make_shared<MmsPeer>();
  ScriptProtocol p;
  p.make = [peer](const ScriptCase& c) -> std::unique_ptr<session::ClientSession> {
    *peer = MmsPeer{};
    return std::make_unique<mmst::MmstClientSession>(config_of(c), c.setting("udp") == "1");
  };
  p.directive = [peer](const std::string& name, const std::string& args, Bytes* out) {
    if (name == "mms") {
      return peer->message(args, out);
    }
    if (name == "mms-header") {
      return MmsPeer::header(args, out);
    }
    if (name == "mms-packets") {
      return MmsPeer::packets(args, out);
    }
    return false;
  };
  p.describe_sent = [](const std::string& bytes) {
    std::vector<std::string> lines;
    ByteView rest = ByteView::of(bytes);
    while (!rest.empty()) {
      mmst::Message m;
      Status err;
      if (mmst::decode_message(rest, &m, &err) != mmst::Decode::kDone) {
        lines.push_back("undecodable " + std::to_string(rest.size()) + " bytes: " + err.what());
        break;
      }
      lines.push_back(mmst::testing::describe(m));
      rest = rest.subview(m.wire_size);
    }
    return lines;
  };
  return p;
}

// --- RTSP --------------------------------------------------------------------

void describe_headers(const rtsp::Headers& h, const std::string& body,
                      std::vector<std::string>* lines) {
  for (const rtsp::Header& x : h.list) {
    lines->push_back("| " + x.name + ": " + x.value);
  }
  if (!body.empty()) {
    lines->push_back("| body " + std::to_string(body.size()) + " bytes");
  }
}

ScriptProtocol rtsp_protocol() {
  ScriptProtocol p;
  p.make = [](const ScriptCase& c) -> std::unique_ptr<session::ClientSession> {
    return std::make_unique<rtsp::RtspClientSession>(config_of(c), c.setting("udp") == "1");
  };
  p.directive = [](const std::string& name, const std::string& args, Bytes* out) {
    if (name != "sdp") {
      return false;
    }
    std::istringstream in(args);
    std::string media;
    std::string control;
    in >> media >> control;
    const Fixture& f = fixture(media);
    if (!f.ok) {
      return false;
    }
    rtsp::SdpWriteOptions o;
    o.control = control;
    Result<std::string> sdp = rtsp::write_wms_sdp(ByteView(f.header.data(), f.header.size()), o);
    if (!sdp.ok()) {
      return false;
    }
    out->insert(out->end(), sdp->begin(), sdp->end());
    return true;
  };
  p.describe_sent = [](const std::string& bytes) {
    std::vector<std::string> lines;
    ByteView rest = ByteView::of(bytes);
    while (!rest.empty()) {
      rtsp::Unit u;
      Status err;
      if (rtsp::decode_unit(rest, &u, &err) != rtsp::Decode::kDone) {
        lines.push_back("undecodable " + std::to_string(rest.size()) + " bytes: " + err.what());
        break;
      }
      if (u.kind == rtsp::UnitKind::kRequest) {
        lines.push_back(u.request.method + " " + u.request.uri + " RTSP/1." +
                        std::to_string(u.request.version_minor));
        describe_headers(u.request.headers, u.request.body, &lines);
      } else if (u.kind == rtsp::UnitKind::kResponse) {
        lines.push_back("RTSP/1." + std::to_string(u.response.version_minor) + " " +
                        std::to_string(u.response.status) + " " + u.response.reason);
        describe_headers(u.response.headers, u.response.body, &lines);
      } else {
        lines.push_back("$" + std::to_string(u.frame.channel) + " " +
                        std::to_string(u.frame.payload.size()) + " bytes");
      }
      rest = rest.subview(u.wire_size);
    }
    return lines;
  };
  return p;
}

TEST(SessionScript, MmsHandshakes) {
  run_script_dir("mmst", mms_protocol());
}

TEST(SessionScript, RtspHandshakes) {
  run_script_dir("rtsp", rtsp_protocol());
}

// The runner itself: a step's lines are what the session did, so an
// expectation that says otherwise does not match.
TEST(SessionScript, AWrongExpectationDoesNotMatch) {
  ScriptCase c;
  c.file = "inline";
  c.title = "play only";
  c.settings["url"] = "mmst://127.0.0.1/a.asf";
  ScriptStep play;
  play.verb = "play";
  c.steps.push_back(play);
  std::string error;
  const std::vector<std::string> got = run_script(c, mms_protocol(), 0, &error);
  EXPECT_TRUE(error.empty()) << error;
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0], "@0 play");
  EXPECT_EQ(got[1].rfind("connect ", 0), 0u) << got[1];
  EXPECT_NE(got[1].find(" 127.0.0.1:1755"), std::string::npos) << got[1];  // the MMS port
  c.steps[0].expect = {"connect 1 127.0.0.1:80"};
  EXPECT_NE(run_script(c, mms_protocol(), 0, &error), script_expectation(c));
}

}  // namespace
}  // namespace mms::test
