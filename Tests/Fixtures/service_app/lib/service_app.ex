defmodule ServiceApp do
  @moduledoc "A small service that controlnode's tests deploy, start, check and stop."

  @doc "The running release's version, such as \"0.1.0\"."
  def version, do: :service_app |> Application.spec(:vsn) |> to_string()
end
