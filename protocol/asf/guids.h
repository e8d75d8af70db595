// ASF GUIDs as they appear on the wire (Data1..3 little-endian, Data4 as is).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "protocol/core/bytes.h"

namespace mms::asf {

using Guid = std::array<std::uint8_t, 16>;

// Builds the wire form of the textual GUID XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX.
constexpr Guid make_guid(std::uint32_t d1, std::uint16_t d2, std::uint16_t d3, std::uint64_t d4) {
  return Guid{static_cast<std::uint8_t>(d1),       static_cast<std::uint8_t>(d1 >> 8),
              static_cast<std::uint8_t>(d1 >> 16), static_cast<std::uint8_t>(d1 >> 24),
              static_cast<std::uint8_t>(d2),       static_cast<std::uint8_t>(d2 >> 8),
              static_cast<std::uint8_t>(d3),       static_cast<std::uint8_t>(d3 >> 8),
              static_cast<std::uint8_t>(d4 >> 56), static_cast<std::uint8_t>(d4 >> 48),
              static_cast<std::uint8_t>(d4 >> 40), static_cast<std::uint8_t>(d4 >> 32),
              static_cast<std::uint8_t>(d4 >> 24), static_cast<std::uint8_t>(d4 >> 16),
              static_cast<std::uint8_t>(d4 >> 8),  static_cast<std::uint8_t>(d4)};
}

inline bool guid_equals(const std::uint8_t* p, const Guid& g) {
  return std::memcmp(p, g.data(), g.size()) == 0;
}

constexpr Guid kHeaderObject = make_guid(0x75B22630, 0x668E, 0x11CF, 0xA6D900AA0062CE6CULL);
constexpr Guid kDataObject = make_guid(0x75B22636, 0x668E, 0x11CF, 0xA6D900AA0062CE6CULL);
constexpr Guid kSimpleIndexObject = make_guid(0x33000890, 0xE5B1, 0x11CF, 0x89F400A0C90349CBULL);
constexpr Guid kIndexObject = make_guid(0xD6E229D3, 0x35DA, 0x11D1, 0x903400A0C90349BEULL);
constexpr Guid kFileProperties = make_guid(0x8CABDCA1, 0xA947, 0x11CF, 0x8EE400C00C205365ULL);
constexpr Guid kStreamProperties = make_guid(0xB7DC0791, 0xA9B7, 0x11CF, 0x8EE600C00C205365ULL);
constexpr Guid kHeaderExtension = make_guid(0x5FBF03B5, 0xA92E, 0x11CF, 0x8EE300C00C205365ULL);
constexpr Guid kCodecList = make_guid(0x86D15240, 0x311D, 0x11D0, 0xA3A400A0C90348F6ULL);
constexpr Guid kScriptCommand = make_guid(0x1EFB1A30, 0x0B62, 0x11D0, 0xA39B00A0C90348F6ULL);
constexpr Guid kBitrateMutualExclusion =
    make_guid(0xD6E229DC, 0x35DA, 0x11D1, 0x903400A0C90349BEULL);
constexpr Guid kContentDescription = make_guid(0x75B22633, 0x668E, 0x11CF, 0xA6D900AA0062CE6CULL);
constexpr Guid kExtendedContentDescription =
    make_guid(0xD2D0A440, 0xE307, 0x11D2, 0x97F000A0C95EA850ULL);
constexpr Guid kStreamBitrateProperties =
    make_guid(0x7BF875CE, 0x468D, 0x11D1, 0x8D82006097C9A2B2ULL);
constexpr Guid kPadding = make_guid(0x1806D474, 0xCADF, 0x4509, 0xA4BA9AABCB96AAE8ULL);
constexpr Guid kExtendedStreamProperties =
    make_guid(0x14E6A5CB, 0xC672, 0x4332, 0x8399A96952065B5AULL);
constexpr Guid kAdvancedMutualExclusion =
    make_guid(0xA08649CF, 0x4775, 0x4670, 0x8A166E35357566CDULL);
constexpr Guid kGroupMutualExclusion = make_guid(0xD1465A40, 0x5A79, 0x4338, 0xB71BE36B8FD6C249ULL);
constexpr Guid kAudioMedia = make_guid(0xF8699E40, 0x5B4D, 0x11CF, 0xA8FD00805F5C442BULL);
constexpr Guid kNoErrorCorrection = make_guid(0x20FB5700, 0x5B55, 0x11CF, 0xA8FD00805F5C442BULL);
constexpr Guid kVideoMedia = make_guid(0xBC19EFC0, 0x5B4D, 0x11CF, 0xA8FD00805F5C442BULL);
constexpr Guid kCommandMedia = make_guid(0x59DACFC0, 0x59E6, 0x11D0, 0xA3AC00A0C90348F6ULL);
constexpr Guid kMutexLanguage = make_guid(0xD6E22A00, 0x35DA, 0x11D1, 0x903400A0C90349BEULL);
constexpr Guid kMutexBitrate = make_guid(0xD6E22A01, 0x35DA, 0x11D1, 0x903400A0C90349BEULL);
constexpr Guid kMutexUnknown = make_guid(0xD6E22A02, 0x35DA, 0x11D1, 0x903400A0C90349BEULL);

// Size of the Data Object prefix that ends the streamed "ASF file header".
constexpr std::size_t kDataObjectPrefixSize = 50;

}  // namespace mms::asf
