// Small value types for errors on the data plane: no exception crosses a libuv or
// llhttp callback, so functions that can fail at run time return Status or Result<T>.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

enum class Errc : uint8_t {
    Ok,
    PeerClosed,
    Timeout,
    Protocol,
    Overloaded,
    Unavailable,
    NotFound,
    Invalid,
    Internal,
};

struct Error {
    Errc code = Errc::Internal;
    std::string detail;
};

// Result<T>: either a value or an Error. Deliberately tiny (C++20 has no std::expected).
template <class T> class Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error err) : v_(std::move(err)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

class Status {
  public:
    Status() = default;
    Status(Error err) : err_(std::move(err)) {}
    static Status ok_status() { return Status(); }
    bool ok() const { return err_.code == Errc::Ok; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return err_; }

  private:
    Error err_{Errc::Ok, {}};
};

}  // namespace sluice
