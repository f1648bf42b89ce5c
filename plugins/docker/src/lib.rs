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
        // The schemas are written by hand: many fields take a map or a
        // list, a number or a duration, which the structs read as JSON.
        Manifest::new(
            "docker",
            env!("CARGO_PKG_VERSION"),
            "Containers, images, networks, volumes and Swarm services on the hosts' Docker engines.",
        )
        .capability(Capability::DockerRead)
        .capability(Capability::DockerWrite)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("container", "A container in the wanted state (docker_container).").params_schema_with(container::schema).handle(container::apply))
        .action(Action::new("image", "Build, load or remove an image (docker_image).").params_schema_with(image::schema).handle(image::apply))
        .action(Action::new("network", "A network (docker_network).").params_schema_with(network::network_schema).handle(network::network))
        .action(Action::new("volume", "A volume (docker_volume).").params_schema_with(network::volume_schema).handle(network::volume))
        .action(Action::new("swarm", "Init, join or leave a swarm (docker_swarm).").params_schema_with(swarm::swarm_schema).handle(swarm::swarm))
        .action(Action::new("node", "A swarm node's role, availability and labels (docker_node).").params_schema_with(swarm::node_schema).handle(swarm::node))
        .action(Action::new("service", "A swarm service (docker_swarm_service).").params_schema_with(service::schema).handle(service::apply))
        .action(Action::new("scale", "Change a service's replica count only (docker service scale).").params_schema_with(service::scale_schema).handle(service::scale))
        .action(Action::new("stack", "Deploy or remove a Compose file as a stack (docker_stack).").params_schema_with(stack::schema).handle(stack::apply))
    }
}

register_plugin!(Docker);
