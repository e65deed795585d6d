// llhttp calls plain C functions with its parser; the parsers (request and response) keep
// their state in an Impl set as parser.data. These templates turn an Impl member into
// such a function, once for both parsers: the Impl is recovered, the member called, and
// an exception (bad_alloc in practice) never crosses into C — Impl::on_callback_exception()
// records it and the parse stops with an error.
#pragma once

#include <llhttp.h>

#include <cstddef>

namespace sluice::http::llhttp_bind {

template <class Impl, int (Impl::*Member)(const char*, size_t)>
int data(llhttp_t* p, const char* at, size_t n) noexcept {
    auto* self = static_cast<Impl*>(p->data);
    try {
        return (self->*Member)(at, n);
    } catch (...) {
        self->on_callback_exception();
        return -1;
    }
}

template <class Impl, int (Impl::*Member)()>
int event(llhttp_t* p) noexcept {
    auto* self = static_cast<Impl*>(p->data);
    try {
        return (self->*Member)();
    } catch (...) {
        self->on_callback_exception();
        return -1;
    }
}

}  // namespace sluice::http::llhttp_bind
