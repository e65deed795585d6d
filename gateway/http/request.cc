// RequestHead lookups. Header names are compared case-insensitively (RFC 9110 5.1).
#include "gateway/http/request.h"

#include "gateway/http/ascii.h"

namespace sluice::http {

const std::string* RequestHead::header(std::string_view name) const {
    for (const Header& h : headers) {
        if (iequals(h.name, name)) return &h.value;
    }
    return nullptr;
}

}  // namespace sluice::http
