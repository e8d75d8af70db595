// Status and Result<T>: error values for a codebase without exceptions.
//
// Every fallible engine function returns a Status or a Result<T>. A Status
// carries a Code (what kind of failure), a string literal (what happened, for
// logs and error messages) and a numeric detail (HRESULT, HTTP status, byte
// offset...). Thread-agnostic value types.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace mms {

enum class Code : std::uint8_t {
  kOk,
  kMalformed,       // peer bytes do not parse
  kPeerViolation,   // parses, but breaks the protocol's rules
  kLocalMisuse,     // our own caller broke an API contract
  kUnsupported,     // valid, but not implemented (e.g. NTLM)
  kLimitExceeded,   // a named limit in limits.h was hit
  kNotFound,        // content does not exist (404, HRESULT file not found)
  kNotAuthorized,   // 401/407 or access denied
  kRefused,         // connection refused / transport rejected
  kTimedOut,        // a bounded wait ran out
  kConnectionLost,  // peer closed or reset mid-stream
  kCancelled,       // the user cancelled (flush, state change)
};

const char* to_string(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  // `what` must be a string literal (it is stored, not copied).
  Status(Code code, const char* what, std::uint32_t detail = 0)
      : code_(code), what_(what), detail_(detail) {}
  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const char* what() const { return what_; }
  std::uint32_t detail() const { return detail_; }

 private:
  Code code_ = Code::kOk;
  const char* what_ = "";
  std::uint32_t detail_ = 0;
};

// Result<T>: a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(status) {}     // NOLINT(google-explicit-constructor)
  bool ok() const { return status_.ok() && value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace mms

#define MMS_TRY(expr)                                                  \
  do {                                                                 \
    if (::mms::Status mms_try_status_ = (expr); !mms_try_status_.ok()) \
      return mms_try_status_;                                          \
  } while (false)
