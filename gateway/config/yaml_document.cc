#include "gateway/config/yaml_document.h"

#include <cctype>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>

namespace sluice::config {
namespace {

// Records where each document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
  public:
    std::vector<YAML::Mark> marks;

    void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// Counts documents, at most three. Returns false (with an error) when there is not
// exactly one usable document stream.
bool check_documents(const std::string& text, Diagnostics& diag) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    // yaml-cpp 0.7 can report an endless run of empty documents at one position
    // (YAML::LoadAll then never returns); three calls are enough to notice.
    for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
    }
    const auto& m = starts.marks;
    for (size_t i = 1; i < m.size(); ++i) {
        if (m[i].pos == m[i - 1].pos) {
            std::string what = m[i].pos >= 0 && static_cast<size_t>(m[i].pos) < text.size()
                                   ? std::string(1, text[static_cast<size_t>(m[i].pos)])
                                   : "text";
            diag.error(m[i], "YAML syntax error: unexpected '" + what + "'");
            return false;
        }
    }
    if (m.size() > 1) {
        diag.error(m[1], "only one YAML document is allowed (remove the '---')");
        return false;
    }
    return true;
}

// "[" hex-digits-colons-dots (with at least one ':') "]:" digit, starting a token: what an
// IPv6 listen address with a port looks like. (A plain scan: std::regex trips GCC 12's
// maybe-uninitialized warning under the sanitizers.)
bool has_bracketed_address_with_port(const std::string& row) {
    for (size_t open = row.find('['); open != std::string::npos; open = row.find('[', open + 1)) {
        char before = open == 0 ? ' ' : row[open - 1];
        if (!(before == ' ' || before == '\t' || before == ',' || before == '[' || before == '-')) continue;
        size_t i = open + 1;
        bool colon = false;
        while (i < row.size() && (std::isxdigit(static_cast<unsigned char>(row[i])) || row[i] == ':' ||
                                  row[i] == '.')) {
            colon = colon || row[i] == ':';
            ++i;
        }
        if (colon && i + 2 < row.size() && row[i] == ']' && row[i + 1] == ':' &&
            std::isdigit(static_cast<unsigned char>(row[i + 2])))
            return true;
    }
    return false;
}

// yaml-cpp reads an unquoted [::1]:8080 as a flow list followed by junk and reports only
// "end of map not found": when the line holds such an address, say what to write instead.
std::string ipv6_hint(const std::string& text, int line) {
    if (line < 0) return "";
    size_t start = 0;
    for (int i = 0; i < line && start != std::string::npos; ++i) {
        start = text.find('\n', start);
        if (start != std::string::npos) ++start;
    }
    if (start == std::string::npos) return "";
    std::string row = text.substr(start, text.find('\n', start) - start);
    if (!has_bracketed_address_with_port(row)) return "";
    return " (an IPv6 address with a port must be quoted: listen: \"[::1]:8080\")";
}

}  // namespace

std::optional<YAML::Node> parse_document(const std::string& text, Diagnostics& diag) {
    try {
        if (!check_documents(text, diag)) return std::nullopt;
        YAML::Node root = YAML::Load(text);
        if (root.IsNull()) {
            diag.error(YAML::Mark(), "the config is empty");
            return std::nullopt;
        }
        return root;
    } catch (const YAML::Exception& e) {
        diag.error(e.mark, "YAML syntax error: " + e.msg + ipv6_hint(text, e.mark.line));
    } catch (const std::exception& e) {
        diag.error_without_position(std::string("cannot parse config: ") + e.what());
    }
    return std::nullopt;
}

}  // namespace sluice::config
