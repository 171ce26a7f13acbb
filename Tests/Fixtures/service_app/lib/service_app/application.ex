defmodule ServiceApp.Application do
  @moduledoc """
  Starts the supervision tree.

  Test switches, read from the environment at boot:
  - `SERVICE_APP_CRASH_AT_BOOT=1`: start/2 raises, so the release never comes up (start-timeout tests).
    A version built with the flavour "crash" always does.
  - `SERVICE_APP_BOOT_DELAY_MS=N`: start/2 waits N ms first (the node is in EPMD, the app not yet started).
  """
  use Application
  require Logger

  @impl true
  def start(_type, _args) do
    if System.get_env("SERVICE_APP_CRASH_AT_BOOT") == "1" or
         Application.get_env(:service_app, :flavour) == "crash" do
      raise "service_app crashes at boot because SERVICE_APP_CRASH_AT_BOOT=1"
    end

    case Integer.parse(System.get_env("SERVICE_APP_BOOT_DELAY_MS", "")) do
      {delay, ""} when delay > 0 -> Process.sleep(delay)
      _ -> :ok
    end

    Logger.info("service_app #{ServiceApp.version()} started on #{node()}")
    Supervisor.start_link([ServiceApp.Beacon], strategy: :one_for_one, name: ServiceApp.Supervisor)
  end
end
