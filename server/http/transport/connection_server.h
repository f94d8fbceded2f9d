// cpp-httplib's Server with the loop of each connection in our hands, for what Debian's httplib
// (0.11) cannot tell a handler: whether its client is still connected (so that a request whose
// client left is dropped uncomputed), and a way to close the connection after the reply without
// reading the rest of the request (a body refused as too large). It also turns Nagle off on every
// connection, keeps one read buffer per connection (pipelined requests are not lost), and notices
// a stopped server within 100 ms while waiting for a keep-alive connection's next request.
// Replies are never compressed: httplib would compress every JSON reply, with brotli when asked,
// where Triton compresses only inference replies and only with gzip or deflate, and Triton's
// Python clients read other replies undecoded. (Compressed requests are still taken.)
#ifndef SPEECH_SERVER_HTTP_TRANSPORT_CONNECTION_SERVER_H_
#define SPEECH_SERVER_HTTP_TRANSPORT_CONNECTION_SERVER_H_

#include <httplib.h>

#include <functional>

#include "absl/time/time.h"

namespace speech {

// Thread-safe as httplib::Server is: configure it before listening; stop() from any thread. Each
// connection is served by one worker thread from accept to close, one request at a time.
class ConnectionServer : public httplib::Server {
 public:
  // The connection that carries the request a handler is answering. Owned by the worker thread;
  // valid while the handler runs.
  class Connection {
   public:
    explicit Connection(socket_t socket) : socket_(socket) {}

    // A check that is true once the client has closed its end of the connection (or it failed).
    // Safe to call from any thread, but only until the handler returns. A client that only shuts
    // down its sending side after the request (rare for HTTP clients) also counts as gone.
    std::function<bool()> ClientGoneCheck() const;

    // Closes the connection once `reply` is written (and says so in it: "Connection: close"),
    // without reading what the client still sends. Before closing, the server reads and discards
    // for up to 2 s so that the client reads the reply rather than a connection reset.
    void CloseAfterReply(httplib::Response* reply);
    bool close_after_reply() const { return close_after_reply_; }

   private:
    const socket_t socket_;
    bool close_after_reply_ = false;
  };

  // The connection of the request that the calling thread is answering; nullptr outside a
  // handler of a ConnectionServer.
  static Connection* Current();

  // Raises the listen backlog of the bound socket: httplib's is 5, which drops the connections
  // of many clients that connect at once (they retry a second later). REQUIRES: bound.
  bool SetListenBacklog(int backlog);

 private:
  bool process_and_close_socket(socket_t socket) override;

  // Waits until `socket` has a request to read: false when the keep-alive timeout passes, the
  // client closes, or the server stops.
  bool WaitForRequest(socket_t socket) const;
};

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_TRANSPORT_CONNECTION_SERVER_H_
