defmodule ServiceApp.Health do
  @moduledoc """
  The health check controlnode calls over distribution.

  Healthy unless a marker file exists: `$RELEASE_TMP/unhealthy` (by default `<release root>/tmp/unhealthy`)
  or the path in `SERVICE_APP_UNHEALTHY_FILE`. Tests create and remove the file to switch it. A version built
  with the flavour "unhealthy" is never healthy.
  """

  @doc "`:ok`, or `{:error, :unhealthy}` while a marker file exists (always, for the unhealthy flavour)."
  def check do
    unhealthy =
      Application.get_env(:service_app, :flavour) == "unhealthy" or Enum.any?(markers(), &File.exists?/1)

    if unhealthy, do: {:error, :unhealthy}, else: :ok
  end

  @doc "The marker files that make the check fail."
  def markers do
    tmp = System.get_env("RELEASE_TMP") || Path.join(System.get_env("RELEASE_ROOT", "."), "tmp")
    [Path.join(tmp, "unhealthy"), System.get_env("SERVICE_APP_UNHEALTHY_FILE")]
    |> Enum.reject(&(&1 in [nil, ""]))
  end
end
