#include "server/http/transport/connection_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/time/clock.h"

namespace speech {
namespace {

thread_local ConnectionServer::Connection* current_connection = nullptr;

// How long a closing connection reads and discards what its client still sends (see
// CloseAfterReply), and how often a waiting worker looks whether the server stopped.
constexpr absl::Duration kLinger = absl::Seconds(2);
constexpr absl::Duration kStopCheckInterval = absl::Milliseconds(100);

int ToPollMillis(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(timeout) + 1, 1 << 30));
}

// True when `socket` becomes ready for `events` within `timeout`.
bool WaitFor(socket_t socket, short events, absl::Duration timeout) {
  pollfd entry{socket, events, 0};
  int ready;
  do {
    ready = poll(&entry, 1, ToPollMillis(timeout));
  } while (ready < 0 && errno == EINTR);
  return ready > 0;
}

void IpAndPort(const sockaddr_storage& address, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    *port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    *port = ntohs(v6->sin6_port);
  }
  *ip = text;
}

// httplib's Stream over one connection's socket, with a read buffer that lives as long as the
// connection: httplib reads request lines one byte at a time.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(socket_t socket, absl::Duration read_timeout, absl::Duration write_timeout)
      : socket_(socket), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool buffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return buffered() || WaitFor(socket_, POLLIN, read_timeout_);
  }
  bool is_writable() const override { return WaitFor(socket_, POLLOUT, write_timeout_); }

  ssize_t read(char* out, size_t size) override {
    if (!buffered()) {
      if (!WaitFor(socket_, POLLIN, read_timeout_)) return -1;
      if (size >= sizeof(buffer_)) return Receive(out, size);
      const ssize_t received = Receive(buffer_, sizeof(buffer_));
      if (received <= 0) return received;
      begin_ = 0;
      end_ = static_cast<size_t>(received);
    }
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(out, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* data, size_t size) override {
    if (!WaitFor(socket_, POLLOUT, write_timeout_)) return -1;
    ssize_t sent;
    do {
      sent = send(socket_, data, size, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getpeername(socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      IpAndPort(address, &ip, &port);
    }
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      IpAndPort(address, &ip, &port);
    }
  }

  socket_t socket() const override { return socket_; }

 private:
  ssize_t Receive(char* out, size_t size) {
    ssize_t received;
    do {
      received = recv(socket_, out, size, 0);
    } while (received < 0 && errno == EINTR);
    return received;
  }

  const socket_t socket_;
  const absl::Duration read_timeout_;
  const absl::Duration write_timeout_;
  char buffer_[16 * 1024];
  size_t begin_ = 0;
  size_t end_ = 0;
};

// Sends FIN, then reads and discards until the client closes too or kLinger passes.
void LingeringClose(socket_t socket) {
  shutdown(socket, SHUT_WR);
  const absl::Time give_up = absl::Now() + kLinger;
  char discard[16 * 1024];
  while (WaitFor(socket, POLLIN, give_up - absl::Now())) {
    const ssize_t received = recv(socket, discard, sizeof(discard), 0);
    if (received == 0 || (received < 0 && errno != EINTR)) break;
  }
}

// Runs before routing: without the header httplib compresses nothing.
void ForgetAcceptEncoding(httplib::Request& request) { request.headers.erase("Accept-Encoding"); }

}  // namespace

std::function<bool()> ConnectionServer::Connection::ClientGoneCheck() const {
  return [socket = socket_] {
    char byte;
    const ssize_t peeked = recv(socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0) return true;  // orderly close
    return peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  };
}

void ConnectionServer::Connection::CloseAfterReply(httplib::Response* reply) {
  reply->set_header("Connection", "close");
  close_after_reply_ = true;
}

ConnectionServer::Connection* ConnectionServer::Current() { return current_connection; }

bool ConnectionServer::SetListenBacklog(int backlog) {
  // Linux takes a second listen() on a listening socket as a new backlog.
  return svr_sock_ != INVALID_SOCKET && ::listen(svr_sock_, backlog) == 0;
}

bool ConnectionServer::WaitForRequest(socket_t socket) const {
  const absl::Time give_up = absl::Now() + absl::Seconds(keep_alive_timeout_sec_);
  while (svr_sock_ != INVALID_SOCKET) {
    const absl::Duration left = give_up - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (WaitFor(socket, POLLIN, std::min(left, kStopCheckInterval))) return true;
  }
  return false;
}

bool ConnectionServer::process_and_close_socket(socket_t socket) {
  const int on = 1;
  setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  Connection connection(socket);
  SocketStream stream(socket,
                      absl::Seconds(read_timeout_sec_) + absl::Microseconds(read_timeout_usec_),
                      absl::Seconds(write_timeout_sec_) + absl::Microseconds(write_timeout_usec_));
  bool served = false;
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!stream.buffered() && !WaitForRequest(socket)) break;
    bool client_closes = false;
    current_connection = &connection;
    served = process_request(stream, /*close_connection=*/left == 1 || svr_sock_ == INVALID_SOCKET,
                             client_closes, ForgetAcceptEncoding);
    current_connection = nullptr;
    if (!served || client_closes || connection.close_after_reply()) break;
  }
  if (connection.close_after_reply()) LingeringClose(socket);
  shutdown(socket, SHUT_RDWR);
  close(socket);
  return served;
}

}  // namespace speech
