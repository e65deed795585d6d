// The one liveness idiom of the code base. An object that hands out callbacks which may
// run after it is gone (a broker reply, a fetch, a deferred step) owns a Lifetime; each
// callback captures a Token and checks it before touching the object. Objects are
// destroyed through the loop's Dispatcher (defer_delete), never with `delete this`.
//
//   owner: Lifetime life_;              callback: [t = life_.token(), this] {
//   closing: life_.end();                              if (!t) return;  // owner gone
//   a new life (void old replies): life_.renew();      ... }
#pragma once

#include <memory>

namespace sluice {

class Lifetime {
  public:
    class Token {
      public:
        Token() = default;
        // True while the Lifetime it came from has neither ended nor been renewed.
        bool alive() const { return !life_.expired(); }
        explicit operator bool() const { return alive(); }

      private:
        friend class Lifetime;
        explicit Token(std::weak_ptr<const char> life) : life_(std::move(life)) {}
        std::weak_ptr<const char> life_;
    };

    Lifetime() = default;
    ~Lifetime() = default;
    // A copy or move would share (or steal) the owner's identity.
    Lifetime(const Lifetime&) = delete;
    Lifetime& operator=(const Lifetime&) = delete;

    Token token() const { return Token(life_); }
    // Every token handed out so far turns false (the owner is closing).
    void end() { life_.reset(); }
    // Voids the tokens handed out so far and starts a new life for the next ones.
    void renew() { life_ = std::make_shared<const char>(0); }
    bool ended() const { return life_ == nullptr; }

  private:
    std::shared_ptr<const char> life_ = std::make_shared<const char>(0);
};

}  // namespace sluice
