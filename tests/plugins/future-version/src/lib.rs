//! A component claiming a contract version this host does not support.
#![allow(missing_docs, unsafe_code)]

wit_bindgen::generate!({
    inline: "
        package capstan:plugin@9.0.0;
        interface guest {
            describe: func() -> string;
        }
        world plugin {
            export guest;
        }
    ",
});

struct Future;

impl exports::capstan::plugin::guest::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
