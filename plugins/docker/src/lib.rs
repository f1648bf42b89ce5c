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

use capstan_plugin_sdk::{Action, Capability, Manifest, Plugin, register_plugin};

struct Docker;

impl Plugin for Docker {
    fn manifest() -> Manifest {
        // Each action's schema is its params struct's; fields that take a
        // map or a list, a command or a duration name their shape in
        // `common`.
        Manifest::new(
            "docker",
            env!("CARGO_PKG_VERSION"),
            "Containers, images, networks, volumes and Swarm services on the hosts' Docker engines.",
        )
        .capability(Capability::DockerRead)
        .capability(Capability::DockerWrite)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("container", "A container in the wanted state (docker_container).").run(container::apply))
        .action(Action::new("image", "Build, load or remove an image (docker_image).").run(image::apply))
        .action(Action::new("network", "A network (docker_network).").run(network::network))
        .action(Action::new("volume", "A volume (docker_volume).").run(network::volume))
        .action(Action::new("swarm", "Init, join or leave a swarm (docker_swarm).").run(swarm::swarm))
        .action(Action::new("node", "A swarm node's role, availability and labels (docker_node).").run(swarm::node))
        .action(Action::new("service", "A swarm service (docker_swarm_service).").run(service::apply))
        .action(Action::new("scale", "Change a service's replica count only (docker service scale).").run(service::scale))
        .action(Action::new("stack", "Deploy or remove a Compose file as a stack (docker_stack).").run(stack::apply))
    }
}

register_plugin!(Docker);
