// sluice: a reverse-proxy gateway for Server-Sent Events. argv -> config -> server.
#include "gateway/app/cli.h"

int main(int argc, char** argv) { return sluice::app::run_cli(argc, argv); }
