#include "plugins/jwt/config_reader.h"

#include <algorithm>
#include <chrono>

namespace sluice::plugins::jwt {

std::shared_ptr<const Verifier> read_jwt_config(config::MapReader& r) {
    config::Diagnostics& diag = r.diag();
    Options o;
    bool ok = true;
    ok &= r.require("algorithms");
    ok &= r.get_string_list("algorithms", o.algorithms);
    if (auto algs = r.find("algorithms")) {
        const auto& known = supported_algorithms();
        for (size_t i = 0; i < o.algorithms.size(); ++i) {
            if (std::find(known.begin(), known.end(), o.algorithms[i]) == known.end()) {
                YAML::Mark at = algs->node.IsSequence() ? algs->node[i].Mark() : algs->mark;
                diag.error(at, r.path("algorithms") + ": '" + o.algorithms[i] +
                                   "' is not supported (HS256, HS384, HS512, RS256, RS384, RS512, "
                                   "ES256, ES384; never none)");
                ok = false;
            }
        }
        if (o.algorithms.empty() && algs->node.IsSequence()) {
            diag.error(algs->mark, r.path("algorithms") + ": list at least one algorithm");
            ok = false;
        }
    }
    ok &= r.get_string("key_file", o.key_file);
    ok &= r.get_string("secret", o.secret);
    ok &= r.get_string("jwks_file", o.jwks_file);
    int key_sources = r.has("key_file") + r.has("secret") + r.has("jwks_file");
    if (key_sources != 1) {
        diag.error(r.mark(), r.where() + ": give exactly one of key_file, secret and jwks_file");
        ok = false;
    }
    ok &= r.get_string("issuer", o.issuer);
    ok &= r.get_string("audience", o.audience);
    config::Millis leeway{0};
    ok &= r.get_duration("leeway", leeway);
    o.leeway = std::chrono::duration_cast<std::chrono::seconds>(leeway);
    std::vector<std::string> from;
    ok &= r.get_string_list("from", from);
    if (auto list = r.find("from"); list && !from.empty()) {
        o.from.clear();
        for (size_t i = 0; i < from.size(); ++i) {
            std::string error;
            auto src = parse_token_source(from[i], error);
            if (!src) {
                diag.error(list->node.IsSequence() ? list->node[i].Mark() : list->mark,
                           r.path("from") + ": " + error);
                ok = false;
            } else {
                o.from.push_back(std::move(*src));
            }
        }
    }
    ok &= r.get_string("channels_claim", o.channels_claim);
    ok &= r.get_bool("close_on_expiry", o.close_on_expiry);
    uint64_t cache_size = o.cache_size;
    ok &= r.get_count("cache_size", cache_size, 0, 10'000'000);
    o.cache_size = static_cast<size_t>(cache_size);
    if (!ok) return nullptr;

    // Files are read and keys checked now, so a bad key fails --check and start-up.
    std::string error;
    auto verifier = Verifier::create(o, error);
    if (!verifier) {
        std::string key = !o.key_file.empty() ? "key_file" : !o.jwks_file.empty() ? "jwks_file" : "secret";
        if (error.rfind("algorithms", 0) == 0) key = "algorithms";
        diag.error(r.key_mark(key), r.where() + ": " + error);
    }
    return verifier;
}

}  // namespace sluice::plugins::jwt
