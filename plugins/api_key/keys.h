// The api_key plugin's keys: where they come from (the config's `keys:` list, a keys
// file), the channels each may use, and the constant-time lookup of a presented key.
//
// A keys file has one key per line; blank lines and lines starting with '#' are skipped:
//
//     k-7fa0c1d2e3...                      # every channel of the route
//     k-19bd44a0... jobs:*,reports:daily   # only these channels (names, prefixes with '*')
//
// Only the keys' SHA-256 digests are kept: a lookup hashes the presented key once and
// compares it with every digest (CRYPTO_memcmp), so neither the time it takes nor an
// early exit tells a client which key, or how much of one, it got right.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::plugins::api_key {

struct Key {
    std::array<unsigned char, 32> digest{};  // SHA-256 of the key
    std::vector<std::string> channels;       // names and prefixes ending in '*'; empty: all
    bool allows(std::string_view channel) const;
};

// One item of `keys:` or one line of a keys file: "KEY" or "KEY CHANNELS" (channels
// separated by commas). nullopt with `error` set; the error never repeats the key.
std::optional<Key> parse_key_line(std::string_view line, std::string& error);

// Every key of a keys file. nullopt with `error` ("line 3: ..." or why the file cannot be
// read) when the file is unreadable, has a bad line, repeats a key or has no key at all.
std::optional<std::vector<Key>> read_keys_file(const std::string& path, std::string& error);

// The key equal to `presented`, or nullptr. Every key is compared, whatever matches.
const Key* find_key(const std::vector<Key>& keys, std::string_view presented);

// SHA-256 of `text`.
std::array<unsigned char, 32> sha256(std::string_view text);

}  // namespace sluice::plugins::api_key
