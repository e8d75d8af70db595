// ByteView: a non-owning (pointer, size) view of bytes, our std::span<const uint8_t>.
// A view never owns memory; every function returning one states how long it lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mms {

class ByteView {
 public:
  constexpr ByteView() = default;
  constexpr ByteView(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  ByteView(const std::vector<std::uint8_t>& v)  // NOLINT(google-explicit-constructor)
      : data_(v.data()), size_(v.size()) {}
  static ByteView of(std::string_view s) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());  // NOLINT
  }

  constexpr const std::uint8_t* data() const { return data_; }
  constexpr std::size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr std::uint8_t operator[](std::size_t i) const { return data_[i]; }
  constexpr const std::uint8_t* begin() const { return data_; }
  constexpr const std::uint8_t* end() const { return data_ + size_; }

  // Sub-views are clamped to the view's bounds.
  constexpr ByteView subview(std::size_t offset, std::size_t len = SIZE_MAX) const {
    if (offset > size_) {
      offset = size_;
    }
    std::size_t rest = size_ - offset;
    return ByteView(data_ + offset, len < rest ? len : rest);
  }
  std::string_view as_string_view() const {
    return std::string_view(reinterpret_cast<const char*>(data_), size_);  // NOLINT
  }
  std::vector<std::uint8_t> to_vector() const { return std::vector<std::uint8_t>(begin(), end()); }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Lower-case hex dump ("24 48 0c 00"), for logs and test failure messages.
std::string to_hex(ByteView bytes, std::size_t max_bytes = 64);

// Parses whitespace-separated hex ("24 48 0c00"; '#' starts a comment to end of line).
// Returns false on an odd digit count or a non-hex character.
bool parse_hex(std::string_view text, std::vector<std::uint8_t>* out);

}  // namespace mms
