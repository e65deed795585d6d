// Where the Redis broker connects: the `broker.url` config value parsed into an endpoint.
// Pure (no libuv, no hiredis), so config validation can call it and report the error.
// Accepted forms:
//   redis://[[user]:password@]host[:port][/db]        host may be [v6-address]
//   unix://[[user]:password@]/path/to/redis.sock[?db=N]
// Both also take the query keys db, password and username; userinfo and query values
// are percent-decoded. TLS (rediss://) is not supported: hiredis 0.14 has no TLS.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::broker {

struct RedisEndpoint {
    std::string host;       // TCP host name or address (without [ ]); empty for unix sockets
    int port = 6379;
    std::string unix_path;  // non-empty: connect to this unix socket instead of host:port
    std::string password;   // empty: no AUTH
    std::string username;   // non-empty: AUTH username password (Redis 6 ACL)
    int db = 0;             // SELECT db after connecting when non-zero

    bool is_unix() const { return !unix_path.empty(); }
};

// Returns nullopt and, if error is not null, a one-line reason on a malformed URL.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string* error);

// "unix:/run/redis.sock db=2" or "redis.local:6379 db=0": for logs, never shows the password.
std::string endpoint_display(const RedisEndpoint& ep);

}  // namespace sluice::broker
