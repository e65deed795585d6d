// TcpStream over a real loopback TCP connection: the peer end is a plain socket read by
// the test. Small socket buffers make the kernel refuse bytes, so partial writes, queued
// tails, watermarks and the close types are all exercised for real; the writing cases run
// twice, flushing with uv_try_write and through the dispatcher's io_uring batch sender.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "gateway/loop/dispatcher.h"
#include "gateway/net/tcp_stream.h"

using namespace sluice;
using net::CloseType;
using net::TcpStream;

namespace {

// A connected pair over 127.0.0.1: `ours` goes to the TcpStream, `peer` stays with the test.
struct SocketPair {
    int ours = -1;
    int peer = -1;
    SocketPair() {
        int lst = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(lst, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(lst, 1) == 0);
        socklen_t len = sizeof a;
        ::getsockname(lst, reinterpret_cast<sockaddr*>(&a), &len);
        peer = ::socket(AF_INET, SOCK_STREAM, 0);
        int small = 4096;
        ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        REQUIRE(::connect(peer, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        ours = ::accept(lst, nullptr, nullptr);
        REQUIRE(ours >= 0);
        ::setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        ::close(lst);
        ::fcntl(peer, F_SETFL, ::fcntl(peer, F_GETFL) | O_NONBLOCK);
    }
    // Reads what is there now; false once the stream has closed its side (EOF or reset).
    bool read_some(std::string& into) {
        char buf[65536];
        while (true) {
            ssize_t n = ::read(peer, buf, sizeof buf);
            if (n > 0) {
                into.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            return false;
        }
    }
    ~SocketPair() {
        if (peer >= 0) ::close(peer);
    }
};

struct Recorder final : TcpStream::Handler {
    int highs = 0, lows = 0, progress = 0, shut_down = 0, errors = 0, eofs = 0;
    bool closed = false;
    bool abort_on_eof = true;
    std::string data;
    TcpStream* stream = nullptr;
    void on_stream_data(const char* d, size_t n) override { data.append(d, n); }
    void on_stream_eof() override {
        ++eofs;
        if (abort_on_eof) stream->close(CloseType::Abort);
    }
    void on_stream_error(const net::StreamError&) override { ++errors; }
    TcpStream* flush_on_progress = nullptr;  // another stream to flush_now() on progress
    void on_write_progress() override {
        ++progress;
        if (flush_on_progress) flush_on_progress->flush_now();
    }
    void on_high_watermark() override { ++highs; }
    void on_low_watermark() override { ++lows; }
    void on_output_shut_down() override { ++shut_down; }
    void on_stream_closed() override { closed = true; }
};

// A loop and its dispatcher, flushing through io_uring's batch sender when asked.
struct LoopWithDispatcher {
    uv_loop_t loop{};
    std::unique_ptr<loop::Dispatcher> d;

    explicit LoopWithDispatcher(bool io_uring) {
        uv_loop_init(&loop);
        d = std::make_unique<loop::Dispatcher>(&loop, 10);
        if (io_uring) {
            std::string error;
            auto sender = loop::make_uring_sender(&error);
            INFO(error);
            REQUIRE(sender);
            d->set_batch_sender(std::move(sender));
        }
    }
    void turn() { uv_run(&loop, UV_RUN_NOWAIT); }
    // Aborts the streams and lets the loop finish; destroy them after this.
    void shut_down(const std::vector<TcpStream*>& streams) {
        for (TcpStream* s : streams) s->close(CloseType::Abort);
        d->close();
        uv_run(&loop, UV_RUN_DEFAULT);
        d->run_remaining();
    }
    ~LoopWithDispatcher() {
        d.reset();
        CHECK(uv_loop_close(&loop) == 0);
    }
};

struct Fixture : LoopWithDispatcher {
    SocketPair pair;
    Recorder rec;
    std::unique_ptr<TcpStream> stream;

    explicit Fixture(bool io_uring = false) : LoopWithDispatcher(io_uring) {
        stream = std::make_unique<TcpStream>(*d, rec);
        rec.stream = stream.get();
        REQUIRE(stream->open_fd(pair.ours));
    }
    // Turns the loop while the peer reads, until done() or the peer sees the close.
    template <class F> bool pump_reading(std::string& got, F done) {
        for (int i = 0; i < 200000 && !done(); ++i) {
            turn();
            if (!pair.read_some(got)) return true;
        }
        return done();
    }
    ~Fixture() {
        shut_down({stream.get()});
        stream.reset();
    }
};

// Distinct, numbered chunks of varying size: any reordering or loss shows in the bytes.
std::vector<std::string> numbered_chunks(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        std::string s = "<" + std::to_string(i) + ":";
        s.append(static_cast<size_t>(100 + (i * 37) % 3000), static_cast<char>('a' + i % 26));
        s += ">";
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

TEST_CASE("bytes are written at the end of the turn, and partial writes keep the tail in order",
          "[net][stream]") {
    const bool io_uring = GENERATE(false, true);
    INFO("io_uring: " << io_uring);
    Fixture f(io_uring);
    std::string expected;
    for (auto& c : numbered_chunks(400)) {
        expected += c;
        f.stream->write(std::move(c));
    }
    CHECK(f.stream->unsent_bytes() == expected.size());
    f.turn();  // the end-of-turn flush: the kernel takes part, the rest waits
    CHECK(f.stream->unsent_bytes() > 0);
    CHECK(f.stream->unsent_bytes() < expected.size());
    std::string got;
    f.pump_reading(got, [&] { return got.size() >= expected.size(); });
    CHECK(got == expected);
    CHECK(f.stream->unsent_bytes() == 0);
    CHECK(f.rec.progress >= 1);
    // With the batch sender the first offer went through io_uring (the rest, refused by
    // the small buffer, through uv_write); without it nothing did.
    CHECK((f.d->batched_sends() > 0) == io_uring);
}

TEST_CASE("an io_uring batch sends many streams' bytes in one turn, each stream exact",
          "[net][stream]") {
    LoopWithDispatcher l(/*io_uring=*/true);
    auto& d = l.d;
    constexpr int kStreams = 40;
    std::vector<std::unique_ptr<SocketPair>> pairs;
    std::vector<std::unique_ptr<Recorder>> recs;
    std::vector<std::unique_ptr<TcpStream>> streams;
    std::vector<std::string> expected(kStreams), got(kStreams);
    for (int i = 0; i < kStreams; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        recs.push_back(std::make_unique<Recorder>());
        streams.push_back(std::make_unique<TcpStream>(*d, *recs.back()));
        recs.back()->stream = streams.back().get();
        REQUIRE(streams.back()->open_fd(pairs.back()->ours));
    }
    // Small events to every stream, a few turns' worth: each fits the socket buffer, so
    // each turn is one batch with one send per stream.
    for (int round = 0; round < 5; ++round) {
        for (int i = 0; i < kStreams; ++i) {
            std::string ev = "id: " + std::to_string(round) + "\ndata: stream " + std::to_string(i) + "\n\n";
            expected[i] += ev;
            streams[i]->write(ev);
        }
        l.turn();
        for (int i = 0; i < kStreams; ++i) REQUIRE(pairs[i]->read_some(got[i]));
    }
    CHECK(d->batched_sends() == 5u * kStreams);
    for (int i = 0; i < kStreams; ++i) {
        CHECK(got[i] == expected[i]);
        CHECK(streams[i]->unsent_bytes() == 0);
    }
    std::vector<TcpStream*> open;
    for (auto& s : streams) open.push_back(s.get());
    l.shut_down(open);
    streams.clear();
}

TEST_CASE("a flush_now() from a callback while the batch is out does not send those bytes again",
          "[net][stream]") {
    LoopWithDispatcher l(/*io_uring=*/true);
    auto& d = l.d;
    SocketPair pa, pb;
    // A's progress callback flushes B, whose bytes went out in the same batch but whose
    // result has not been applied yet (A is first on the flush list).
    Recorder ra, rb;
    TcpStream a(*d, ra), b(*d, rb);
    ra.stream = &a;
    rb.stream = &b;
    ra.flush_on_progress = &b;
    REQUIRE(a.open_fd(pa.ours));
    REQUIRE(b.open_fd(pb.ours));
    a.write(std::string("to a\n"));
    b.write(std::string("to b, once\n"));
    l.turn();
    std::string got_a, got_b;
    REQUIRE(pa.read_some(got_a));
    REQUIRE(pb.read_some(got_b));
    CHECK(ra.progress == 1);
    CHECK(got_a == "to a\n");
    CHECK(got_b == "to b, once\n");
    CHECK(b.unsent_bytes() == 0);
    l.shut_down({&a, &b});
}

TEST_CASE("refused_bytes counts what the kernel refused, not what was queued this turn",
          "[net][stream]") {
    const bool io_uring = GENERATE(false, true);
    INFO("io_uring: " << io_uring);
    Fixture f(io_uring);
    f.stream->write(std::string(512 * 1024, 'x'));
    CHECK(f.stream->refused_bytes() == 0);  // not offered yet
    f.turn();
    uint64_t refused = f.stream->refused_bytes();
    CHECK(refused > 0);
    CHECK(refused <= f.stream->unsent_bytes());
    f.stream->write(std::string(1000, 'y'));  // this turn's bytes
    CHECK(f.stream->unsent_bytes() >= refused + 1000);
    CHECK(f.stream->refused_bytes() <= refused);  // the new bytes are not in it
    f.turn();  // offered now (and still refused: the peer reads nothing)
    CHECK(f.stream->refused_bytes() >= 1000);
}

TEST_CASE("the watermark callbacks fire once per crossing", "[net][stream]") {
    const bool io_uring = GENERATE(false, true);
    INFO("io_uring: " << io_uring);
    Fixture f(io_uring);
    f.stream->set_watermarks(64 * 1024, 16 * 1024);
    for (int i = 0; i < 16; ++i) f.stream->write(std::string(16 * 1024, 'h'));
    CHECK(f.rec.highs == 0);  // never inside write()
    f.turn();
    CHECK(f.rec.highs == 1);
    f.stream->write(std::string(16 * 1024, 'h'));  // still above: no second call
    f.turn();
    CHECK(f.rec.highs == 1);
    CHECK(f.rec.lows == 0);
    std::string got;
    f.pump_reading(got, [&] { return f.stream->unsent_bytes() == 0; });
    CHECK(f.rec.lows == 1);
    CHECK(f.rec.highs == 1);
    // A second crossing reports again.
    for (int i = 0; i < 16; ++i) f.stream->write(std::string(16 * 1024, 'i'));
    f.turn();
    f.pump_reading(got, [&] { return f.stream->unsent_bytes() == 0; });
    CHECK(f.rec.highs == 2);
    CHECK(f.rec.lows == 2);
}

TEST_CASE("close after flush delivers everything, then closes", "[net][stream]") {
    const bool io_uring = GENERATE(false, true);
    INFO("io_uring: " << io_uring);
    Fixture f(io_uring);
    std::string expected;
    for (auto& c : numbered_chunks(300)) {
        expected += c;
        f.stream->write(std::move(c));
    }
    f.stream->close(CloseType::AfterFlush);
    f.stream->write(std::string("<tail>"));  // still accepted while flushing
    expected += "<tail>";
    CHECK_FALSE(f.stream->closing());
    std::string got;
    bool eof = f.pump_reading(got, [] { return false; });  // until the FIN arrives
    CHECK(eof);
    CHECK(got == expected);
    CHECK(f.rec.shut_down == 1);
    // The peer closes too: the stream sees EOF and the handler aborts it.
    ::shutdown(f.pair.peer, SHUT_WR);
    for (int i = 0; i < 100000 && !f.rec.closed; ++i) uv_run(&f.loop, UV_RUN_ONCE);
    CHECK(f.rec.eofs == 1);
    CHECK(f.rec.closed);
    CHECK(f.rec.errors == 0);
}

TEST_CASE("abort drops what is queued and closes at once", "[net][stream]") {
    const bool io_uring = GENERATE(false, true);
    INFO("io_uring: " << io_uring);
    Fixture f(io_uring);
    const size_t total = 4 * 1024 * 1024;
    f.stream->write(std::string(total, 'z'));
    f.turn();
    CHECK(f.stream->unsent_bytes() > 0);
    f.stream->close(CloseType::Abort);
    CHECK(f.stream->closing());
    CHECK(f.stream->unsent_bytes() <= total);
    f.stream->write(std::string("after"));  // ignored
    std::string got;
    f.pump_reading(got, [] { return false; });
    CHECK(got.size() < total);
    CHECK(got.find("after") == std::string::npos);
    for (int i = 0; i < 1000 && !f.rec.closed; ++i) uv_run(&f.loop, UV_RUN_NOWAIT);
    CHECK(f.rec.closed);
    CHECK(f.rec.shut_down == 0);
}

TEST_CASE("reads pause and resume by count, and a throwing handler aborts the stream",
          "[net][stream]") {
    Fixture f;
    struct Thrower final : TcpStream::Handler {
        int errors = 0;
        bool exception = false;
        bool closed = false;
        std::string data;
        void on_stream_data(const char* d, size_t n) override {
            data.append(d, n);
            if (data.find('!') != std::string::npos) throw std::runtime_error("bad input");
        }
        void on_stream_eof() override {}
        void on_stream_error(const net::StreamError& e) override {
            ++errors;
            exception = e.exception;
        }
        void on_stream_closed() override { closed = true; }
    };
    Thrower th;
    f.stream->close(CloseType::Abort);  // the fixture's stream is not used here
    SocketPair pair;
    TcpStream s(*f.d, th);
    REQUIRE(s.open_fd(pair.ours));
    s.start_reading();
    s.pause_reading();
    s.pause_reading();
    REQUIRE(::write(pair.peer, "abc", 3) == 3);
    for (int i = 0; i < 50; ++i) f.turn();
    CHECK(th.data.empty());
    s.resume_reading();
    for (int i = 0; i < 50; ++i) f.turn();
    CHECK(th.data.empty());  // one pause is still held
    s.resume_reading();
    for (int i = 0; i < 1000 && th.data.size() < 3; ++i) uv_run(&f.loop, UV_RUN_ONCE);
    CHECK(th.data == "abc");
    REQUIRE(::write(pair.peer, "!", 1) == 1);
    for (int i = 0; i < 1000 && !th.closed; ++i) uv_run(&f.loop, UV_RUN_ONCE);
    CHECK(th.errors == 1);
    CHECK(th.exception);
    CHECK(th.closed);
}
