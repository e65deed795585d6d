#include "gateway/pipeline/request.h"

#include "gateway/http/response.h"

namespace sluice::pipeline {

void Request::respond_error(int status, std::string_view reason, Headers headers) {
    respond(status, http::error_body(status, reason), "application/json", std::move(headers));
}

}  // namespace sluice::pipeline
