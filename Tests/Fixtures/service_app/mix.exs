defmodule ServiceApp.MixProject do
  use Mix.Project

  # One source tree, several versions: the test fixture builder sets SERVICE_APP_VERSION, and
  # SERVICE_APP_FLAVOUR for versions built to fail ("crash": start/2 raises; "unhealthy": the health check
  # fails), which rollout tests deploy. No dependencies, so the build never needs Hex or the network.
  def project do
    [
      app: :service_app,
      version: System.get_env("SERVICE_APP_VERSION", "0.1.0"),
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [],
      releases: [
        service_app: [
          include_executables_for: [:unix],
          include_erts: true,
          steps: [:assemble, :tar]
        ]
      ]
    ]
  end

  def application do
    [
      extra_applications: [:logger],
      mod: {ServiceApp.Application, []},
      env: [flavour: System.get_env("SERVICE_APP_FLAVOUR", "normal")]
    ]
  end
end
