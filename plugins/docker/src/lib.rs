//! Ansible community.docker's modules as one plugin: containers, images,
//! networks, volumes, and Swarm (the swarm itself, nodes, services and
//! stacks from Compose files). Every action is idempotent and supports
//! check mode and diffs; the host reaches each target's engine.

mod common;
mod compose;
mod container;
mod image;
mod network;
mod service;
mod stack;
mod swarm;

use capstan_plugin_sdk::{
    Action, Context, Error, Manifest, Outcome, Plugin, Request, register_plugin,
};

struct Docker;

impl Plugin for Docker {
    fn manifest() -> Manifest {
        Manifest::new(
            "docker",
            env!("CARGO_PKG_VERSION"),
            "Containers, images, networks, volumes and Swarm services on the hosts' Docker engines.",
        )
        .capability("docker.read")
        .capability("docker.write")
        .capability("remote.files")
        .capability("local")
        .action(Action::new("container", "A container in the wanted state (docker_container).").params_schema(container::schema()))
        .action(Action::new("image", "Build, load or remove an image (docker_image).").params_schema(image::schema()))
        .action(Action::new("network", "A network (docker_network).").params_schema(network::network_schema()))
        .action(Action::new("volume", "A volume (docker_volume).").params_schema(network::volume_schema()))
        .action(Action::new("swarm", "Init, join or leave a swarm (docker_swarm).").params_schema(swarm::swarm_schema()))
        .action(Action::new("node", "A swarm node's role, availability and labels (docker_node).").params_schema(swarm::node_schema()))
        .action(Action::new("service", "A swarm service (docker_swarm_service).").params_schema(service::schema()))
        .action(Action::new("scale", "Change a service's replica count only (docker service scale).").params_schema(service::scale_schema()))
        .action(Action::new("stack", "Deploy or remove a Compose file as a stack (docker_stack).").params_schema(stack::schema()))
    }

    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "container" => container::apply(request.params()?, ctx),
            "image" => image::apply(request.params()?, ctx),
            "network" => network::network(request.params()?, ctx),
            "volume" => network::volume(request.params()?, ctx),
            "swarm" => swarm::swarm(request.params()?, ctx),
            "node" => swarm::node(request.params()?, ctx),
            "service" => service::apply(request.params()?, ctx),
            "scale" => service::scale(request.params()?, ctx),
            "stack" => stack::apply(request.params()?, ctx),
            other => Err(Error::UnknownAction(other.into())),
        }
    }
}

register_plugin!(Docker);
