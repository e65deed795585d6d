// A listener's `tls:` map. Two spellings:
//
//   tls: {cert: FILE, key: FILE}
//   tls: {certificates: [{cert: FILE, key: FILE, names: [NAME, ...]}, ...]}
//
// Every certificate is loaded here through tls::load_certificate (the same code the
// listener will use), so an unreadable file, a file that is not PEM, a key that does not
// match its certificate or a bad name is a file:line:col error at --check time, pointing
// at the value concerned. An expired certificate is only a warning. A relative file name
// is taken from the config file's folder (as a static root is), not from the working
// directory, so a config and its certificates can move together.
#include <filesystem>

#include "gateway/config/loaders.h"
#include "gateway/tls/certificate.h"

namespace sluice::config {
namespace {

// Reads cert, key (and names when allowed) from `r`, then loads the files.
void load_certificate_entry(MapReader& r, bool names_allowed, Diagnostics& diag,
                            std::vector<tls::CertificateSpec>& out) {
    tls::CertificateSpec spec;
    // Both are checked (each missing one is reported), hence no short-circuit.
    bool has_cert = r.require("cert");
    bool has_key = r.require("key");
    bool ok = has_cert && has_key;
    ok = r.get_string("cert", spec.cert_file) && ok;
    ok = r.get_string("key", spec.key_file) && ok;
    std::vector<Value> name_values;
    if (names_allowed) {
        if (auto nv = r.find("names")) {
            name_values = read_list(*nv, "names", diag);
            if (nv->node.IsSequence() && name_values.empty()) {
                diag.error(nv->mark, nv->path + ": must list at least one name (or leave names out to "
                                                "take them from the certificate)");
                ok = false;
            }
            for (const auto& item : name_values) {
                auto name = read_string(item, diag);
                if (!name) ok = false;
                else spec.names.push_back(*name);
            }
        }
    }
    if (!ok) return;
    std::filesystem::path folder = std::filesystem::path(diag.file()).parent_path();
    for (std::string* file : {&spec.cert_file, &spec.key_file})
        if (!file->empty() && std::filesystem::path(*file).is_relative()) *file = (folder / *file).string();
    tls::CertificateResult loaded = tls::load_certificate(spec);
    if (auto* err = std::get_if<tls::CertificateError>(&loaded)) {
        std::optional<Value> at;
        switch (err->field) {
            case tls::CertificateError::Field::Cert: at = r.find("cert"); break;
            case tls::CertificateError::Field::Key: at = r.find("key"); break;
            case tls::CertificateError::Field::Names: at = name_values.at(err->name_index); break;
        }
        diag.error(at->mark, at->path + ": " + err->message);
        return;
    }
    for (const auto& w : std::get<tls::LoadedCertificate>(loaded).warnings) {
        auto at = r.find("cert");
        diag.warning(at->mark, at->path + ": " + w);
    }
    out.push_back(std::move(spec));
}

}  // namespace

void load_listen_tls(const Value& v, Diagnostics& diag, tls::ContextOptions& out) {
    MapReader r(v, diag);
    if (!r.is_map()) return;
    bool single = r.has("cert") || r.has("key");
    if (auto list = r.find("certificates")) {
        if (single) {
            diag.error(r.key_mark("certificates"),
                       r.path("certificates") + ": give either cert and key, or a certificates list, not both");
            r.find("cert");
            r.find("key");
        } else {
            auto items = read_list(*list, "certificates", diag);
            if (list->node.IsSequence() && items.empty())
                diag.error(list->mark, list->path + ": must list at least one certificate");
            for (const auto& item : items) {
                MapReader entry(item, diag);
                if (entry.is_map()) load_certificate_entry(entry, true, diag, out.certificates);
                entry.finish();
            }
        }
    } else if (single) {
        load_certificate_entry(r, false, diag, out.certificates);
    } else {
        diag.error(r.mark(), v.path + ": needs cert and key, like {cert: /etc/sluice/cert.pem, key: "
                                      "/etc/sluice/key.pem}, or a certificates list");
    }
    r.finish();
}

}  // namespace sluice::config
