// An upstream's TLS keys, read from the upstream's own map:
//
//   tls: true                    # speak TLS to every server of the upstream
//   ca_file: FILE                # CAs to verify the servers against (default: the system's)
//   server_name: NAME            # SNI and the name checked (default: each server's host)
//   verify: true                 # false: accept any certificate (logged as a warning)
//   client_cert: FILE            # mutual TLS: a client certificate chain and its key
//   client_key: FILE
//
// The files are read here, through tls::ClientContext (the same code the proxy uses), so
// an unreadable or non-PEM CA file, or a client key that does not match its certificate,
// is a file:line:col error at --check time. The other keys without `tls: true` are an
// error too: they would otherwise be silently ignored on a plain upstream. A relative
// file name is taken from the config file's folder, as for a listener's certificates.
#include <filesystem>

#include "gateway/config/loaders.h"
#include "gateway/tls/certificate.h"
#include "gateway/tls/client_context.h"

namespace sluice::config {
namespace {

constexpr std::string_view kTlsKeys[] = {"ca_file", "server_name", "verify", "client_cert", "client_key"};

std::string from_config_folder(const Diagnostics& diag, const std::string& file) {
    if (file.empty() || std::filesystem::path(file).is_absolute()) return file;
    return (std::filesystem::path(diag.file()).parent_path() / file).string();
}

}  // namespace

void load_upstream_tls(MapReader& r, proxy::UpstreamOptions& up) {
    Diagnostics& diag = r.diag();
    bool enabled = false;
    if (!r.get_bool("tls", enabled)) {  // reported; the other keys are not "unknown" too
        for (std::string_view key : kTlsKeys) r.find(key);
        return;
    }
    if (!enabled) {
        for (std::string_view key : kTlsKeys) {
            if (!r.has(key)) continue;
            r.find(key);
            diag.error(r.key_mark(key), r.path(key) + ": only applies with tls: true on the upstream");
        }
        return;
    }
    tls::ClientContextOptions opts;
    proxy::UpstreamTlsOptions out;
    bool ok = r.get_string("ca_file", opts.ca_file);
    ok = r.get_bool("verify", opts.verify) && ok;
    ok = r.get_string("client_cert", opts.cert_file) && ok;
    ok = r.get_string("client_key", opts.key_file) && ok;
    if (auto v = r.find("server_name")) {
        if (auto name = read_string(*v, diag)) {
            std::string why = tls::is_ip_address(*name) ? "" : tls::check_server_name(*name);
            if (why.empty() && name->starts_with("*.")) why = "a wildcard cannot be a server's name";
            if (!why.empty()) {
                diag.error(v->mark, v->path + ": " + why);
                ok = false;
            } else {
                out.server_name = *name;
            }
        } else {
            ok = false;
        }
    }
    if (r.has("client_cert") != r.has("client_key")) {
        std::string_view given = r.has("client_cert") ? "client_cert" : "client_key";
        diag.error(r.key_mark(given), r.path(given) + ": client_cert and client_key go together (mutual TLS)");
        ok = false;
    }
    if (!opts.verify && r.has("ca_file")) {
        diag.error(r.key_mark("ca_file"), r.path("ca_file") + ": has no use with verify: false");
        ok = false;
    }
    if (!ok) return;
    opts.ca_file = from_config_folder(diag, opts.ca_file);
    opts.cert_file = from_config_folder(diag, opts.cert_file);
    opts.key_file = from_config_folder(diag, opts.key_file);
    auto built = tls::ClientContext::create(opts);
    if (auto* err = std::get_if<tls::ClientContextError>(&built)) {
        std::string_view key = err->field == tls::ClientContextError::Field::Cert  ? "client_cert"
                               : err->field == tls::ClientContextError::Field::Key ? "client_key"
                                                                                    : "ca_file";
        if (auto v = r.find(key)) diag.error(v->mark, v->path + ": " + err->message);
        else diag.error(r.key_mark("tls"), r.path("tls") + ": " + err->message);
        return;
    }
    if (!opts.verify) {
        diag.warning(r.key_mark("verify"), r.path("verify") +
                                                ": the servers' certificates are not checked (anyone on the "
                                                "path can pose as them)");
    }
    out.context = std::get<tls::ClientContextPtr>(std::move(built));
    up.tls = std::move(out);
}

}  // namespace sluice::config
