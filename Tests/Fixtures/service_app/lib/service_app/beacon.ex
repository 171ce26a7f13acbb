defmodule ServiceApp.Beacon do
  @moduledoc "A registered process that answers `:ping` with `{:pong, version}`: something to monitor and call."
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  @impl true
  def init(nil), do: {:ok, nil}

  @impl true
  def handle_call(:ping, _from, state), do: {:reply, {:pong, ServiceApp.version()}, state}
end
