// Request dispatch: admin endpoints, the publish endpoint, then the route table.
// Each handler answers through the Connection's response API (possibly later).
#pragma once

#include "gateway/router/route_table.h"

namespace sluice::app {

class Connection;

// Entry point, called once per complete request on the connection's loop thread.
void handle_request(Connection& conn);

// Handlers (one file each).
bool handle_admin(Connection& conn);    // false if the path is not an admin path
bool handle_publish(Connection& conn);  // false if the path is not the publish path
void handle_sse(Connection& conn, const router::Match& match);
void handle_poll(Connection& conn, const router::Match& match);

}  // namespace sluice::app
