#include "gateway/broker/redis_glob.h"

namespace sluice::broker {

std::string redis_glob(const router::ChannelTemplate& channel) {
    std::string out;
    for (const auto& piece : channel.pieces()) {
        if (piece.placeholder) {
            out.push_back('*');
            continue;
        }
        for (char c : piece.text) {
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace sluice::broker
