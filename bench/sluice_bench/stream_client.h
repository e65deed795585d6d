// What an SSE subscriber talks through: a TCP connection of its own (TcpClient, with or
// without TLS) or one stream of a shared HTTP/2 connection (H2StreamClient). Both hand the
// subscriber an HTTP/1.1 response as bytes, so one parser serves both.
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::bench {

class ClientListener {
public:
    virtual ~ClientListener() = default;
    virtual void on_connected() = 0;
    virtual void on_data(std::string_view bytes) = 0;
    // Connect failure, read error or end of stream (UV_EOF). The client is already
    // closing when this runs; on_closed follows.
    virtual void on_failed(int uv_status) = 0;
    // The client is closed; open() may be called again from here.
    virtual void on_closed() = 0;
};

class StreamClient {
public:
    virtual ~StreamClient() = default;
    // Starts connecting to `dest`, from `source_ip` (IPv4, host order) when given. Failures,
    // even immediate ones, are reported through on_failed, and on_closed follows; both may
    // run before open() returns.
    virtual void open(const sockaddr_storage& dest, std::optional<uint32_t> source_ip) = 0;
    // The HTTP/1.1 request (or other bytes) to send.
    virtual void write(std::string_view bytes) = 0;
    // Starts closing (idempotent). on_closed runs later.
    virtual void close() = 0;
    // Stops reading (a stalled client).
    virtual void stop_reading() = 0;
};

}  // namespace sluice::bench
