#include "plugins/api_key/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gateway/router/path_template.h"
#include "plugins/auth/decisions.h"

namespace sluice::plugins::api_key {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// "*", a channel name, or a prefix of one followed by '*'.
bool valid_pattern(std::string_view p) {
    if (p == "*") return true;
    if (!p.empty() && p.back() == '*') p.remove_suffix(1);
    return router::valid_channel_value(p);
}

}  // namespace

bool Key::allows(std::string_view channel) const {
    if (channels.empty()) return true;
    for (const std::string& p : channels)
        if (auth::channel_pattern_matches(p, channel)) return true;
    return false;
}

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::optional<Key> parse_key_line(std::string_view line, std::string& error) {
    line = trim(line);
    size_t end = 0;
    while (end < line.size() && !is_blank(line[end])) ++end;
    std::string_view key = line.substr(0, end);
    std::string_view rest = trim(line.substr(end));
    if (key.empty()) {
        error = "empty key";
        return std::nullopt;
    }
    for (char ch : key) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) {
            error = "a key must be visible ASCII characters only";
            return std::nullopt;
        }
    }
    Key k;
    k.digest = sha256(key);
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view p = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (!valid_pattern(p)) {
            error = "channel '" + std::string(p) +
                    "' is not a channel name or a prefix ending in '*' ([A-Za-z0-9_.:-])";
            return std::nullopt;
        }
        k.channels.emplace_back(p);
    }
    return k;
}

std::optional<std::vector<Key>> read_keys_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::vector<Key> keys;
    std::vector<size_t> lines;  // the line of each key, for "the same key as line N"
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::string_view text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        std::string why;
        std::optional<Key> k = parse_key_line(text, why);
        if (!k) {
            error = path + " line " + std::to_string(n) + ": " + why;
            return std::nullopt;
        }
        for (size_t i = 0; i < keys.size(); ++i) {
            if (keys[i].digest == k->digest) {
                error = path + " line " + std::to_string(n) + ": the same key as line " +
                        std::to_string(lines[i]);
                return std::nullopt;
            }
        }
        keys.push_back(std::move(*k));
        lines.push_back(n);
    }
    if (in.bad()) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (keys.empty()) {
        error = path + " holds no key";
        return std::nullopt;
    }
    return keys;
}

const Key* find_key(const std::vector<Key>& keys, std::string_view presented) {
    std::array<unsigned char, 32> digest = sha256(presented);
    const Key* found = nullptr;
    for (const Key& k : keys) {
        // No early exit: the loop takes as long whichever key (if any) matches.
        bool same = CRYPTO_memcmp(k.digest.data(), digest.data(), digest.size()) == 0;
        if (same && !found) found = &k;
    }
    return found;
}

}  // namespace sluice::plugins::api_key
