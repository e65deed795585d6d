#include "plugins/forward_auth/verdict.h"

#include "gateway/core/ascii.h"

namespace sluice::plugins::forward_auth {
namespace {

// The answer headers a denial passes back: how to authenticate, where to log in, when
// to try again.
bool passed_back(std::string_view name) {
    return ascii_iequals(name, "www-authenticate") || ascii_iequals(name, "location") ||
           ascii_iequals(name, "retry-after");
}

}  // namespace

Verdict verdict_of(const proxy::SubrequestAnswer& a, const std::vector<std::string>& copy_headers) {
    Verdict v;
    if (a.failed) {
        v.kind = Verdict::Kind::Error;
        v.status = a.status;
        v.reason = "auth service: " + a.reason;
        return v;
    }
    v.status = a.status;
    if (a.status >= 200 && a.status < 300) {
        v.kind = Verdict::Kind::Allow;
        for (const std::string& name : copy_headers) {
            for (const auto& [hname, value] : a.headers)
                if (ascii_iequals(hname, name)) v.headers.emplace_back(name, value);
        }
        return v;
    }
    v.kind = Verdict::Kind::Deny;
    v.reason = "auth service answered " + std::to_string(a.status);
    for (const auto& [name, value] : a.headers)
        if (passed_back(name)) v.headers.emplace_back(name, value);
    if (!a.body.empty() && !a.body_cut && a.body.size() <= kMaxBody) {
        v.has_body = true;
        v.body = a.body;
        for (const auto& [name, value] : a.headers)
            if (ascii_iequals(name, "content-type")) v.content_type = value;
        if (v.content_type.empty()) v.content_type = "application/octet-stream";
    }
    return v;
}

const char* decision_name(const Verdict& v) {
    switch (v.kind) {
    case Verdict::Kind::Allow: return "allow";
    case Verdict::Kind::Error: return "error";
    case Verdict::Kind::Deny: break;
    }
    if (v.status == 401) return "unauthenticated";
    if (v.status == 403) return "forbidden";
    return "denied";
}

}  // namespace sluice::plugins::forward_auth
