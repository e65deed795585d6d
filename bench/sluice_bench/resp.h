// RESP2, the Redis protocol, as far as the bench's pipelined publisher needs it: commands are
// encoded as arrays of bulk strings, and replies are read from the byte stream one complete
// top-level reply at a time (nested arrays included). Pure; no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sluice::bench {

// Appends "*<n>\r\n" then "$<len>\r\n<arg>\r\n" per argument.
void append_command(std::string& out, std::initializer_list<std::string_view> args);

class RespReader {
public:
    // is_error: a "-ERR ..." reply; text: the error message, or the value of a simple string or
    // integer reply (empty for bulk strings, arrays and nulls).
    using ReplyFn = std::function<void(bool is_error, std::string_view text)>;

    // Buffers `in` and calls on_reply for each complete reply. Returns false when the stream
    // is not valid RESP; the reader then stays failed.
    bool feed(std::string_view in, const ReplyFn& on_reply);
    bool failed() const { return failed_; }

private:
    static constexpr std::size_t kIncomplete = static_cast<std::size_t>(-1);
    static constexpr std::size_t kInvalid = static_cast<std::size_t>(-2);
    // End offset of the reply starting at `pos`, kIncomplete or kInvalid.
    std::size_t skip_reply(std::size_t pos, int depth) const;

    std::string buf_;
    bool failed_ = false;
};

}  // namespace sluice::bench
